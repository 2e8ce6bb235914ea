#pragma once
// How many CPU threads a process uses (runtime.threads).

namespace elm {

// configured > 0 wins; otherwise OMP_NUM_THREADS when it is a positive integer (for a nested list
// such as "8,2" the first, outer level counts); otherwise available_cores(). Always >= 1.
int resolve_thread_count(int configured);

// CPUs this process may run on: the affinity mask (what Slurm/cgroups/taskset allow) when it can
// be read, else std::thread::hardware_concurrency(); at least 1.
int available_cores();

}  // namespace elm
