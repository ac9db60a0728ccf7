// `baton __slurm-attempt SPEC`: the payload of an attempt's Slurm job (slurm.h). The
// batch script execs it; it runs the one attempt SPEC describes (slurm_record.h) under
// baton's run supervisor on the node, exactly as `baton run` does on its own machine
// (exec/supervised.h): the control file's "started" and "exit" records, the log, the
// redaction and the timeout are the supervisor's.
//
// - SPEC is read and removed first: a job Slurm launches a second time (a restarted
//   slurmctld can) finds none and runs nothing.
// - SIGTERM or SIGINT (Slurm's `--signal=B:TERM@N` before the time limit, baton's
//   cancel as `scancel --batch --signal=TERM`, a preemption) stops the attempt with
//   grace (TERM to its whole group in one kill(2), kill_grace_s, KILL); a second one
//   KILLs the group at once. Watched from before the attempt starts (one in between
//   takes effect once it has). The exit record says kCancelled; the orchestrator reads
//   it as baton's cancel when it asked for one, else as Slurm's stop (slurm.cc,
//   adjust()).
// Exit status: 0 once the attempt ended (how it ended is in the exit record), 3 when
// the spec cannot be read, 4 when the attempt cannot be handed to the supervisor.
#pragma once

#include <string>

namespace baton::executor {

/// Runs the attempt of SPEC_PATH to its end; returns the exit status above.
int slurm_attempt_main(const std::string& spec_path);

}  // namespace baton::executor
