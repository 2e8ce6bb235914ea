#pragma once
// Stopping a training run early but cleanly: a signal (Slurm's `--signal=B:USR1@SECONDS` forwarded
// to the ranks, SIGTERM at preemption or at the time limit) or training.exit_duration_minutes.
// The handler only sets a flag; the trainer looks at it once per optimizer step, the ranks agree
// (a sum over the world), and all of them save a checkpoint and leave with kExitStopped.
namespace elm::train {

// `explicitlm train` exits with this code after saving a checkpoint because it was told to stop
// (signal or time limit): the job is incomplete, the same command resumes it.
inline constexpr int kExitStopped = 3;

// Installs the handlers for SIGUSR1 and SIGTERM (idempotent).
void install_stop_handlers();
// The signal received since the handlers were installed (or cleared), 0 = none.
int stop_signal();
void clear_stop_signal();

}  // namespace elm::train
