// The built-in invokers, one per agent CLI; the registry in invoker.cc lists them.
#pragma once

#include "agents/invoker.h"

namespace baton::agents {

/// Claude Code (`claude`, npm @anthropic-ai/claude-code); see claude.cc.
const Invoker& claude_invoker();
/// OpenAI Codex CLI (`codex`, npm @openai/codex); see codex.cc.
const Invoker& codex_invoker();

}  // namespace baton::agents
