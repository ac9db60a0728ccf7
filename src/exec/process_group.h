// Questions about a process group that baton started (Linux: reads /proc).
#pragma once

namespace baton::exec {

/// True while process group PGID has a member that is not a zombie. Zombies are
/// skipped because group members orphaned by their leader are reaped by init, which
/// may do so late (or, in some containers, never); they no longer run or hold fds.
/// Returns false for pgid <= 0 or a group that no longer exists; true when /proc
/// cannot be read but kill(-PGID, 0) says the group exists.
bool group_has_live_members(int pgid);

}  // namespace baton::exec
