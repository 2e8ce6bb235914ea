#pragma once
// Keeps freed heap memory in the process for reuse instead of returning it to the kernel.
//
// glibc serves every allocation above 32 MiB with its own mmap and unmaps it on free, so each
// such allocation costs a page fault per 4 KiB page when first touched. A training step over a
// 151,936-row embedding table makes several 78 MB temporaries (gradients, AdamW's denominator),
// and those page faults measured half of the step's time on 2 cores (sys 75 s of 150 s). With
// mmap disabled for the main heap and trimming off, the memory is reused at no cost; the price is
// that the process keeps its peak heap until it exits, which suits a training process. Threads
// other than the main one still fall back to mmap for requests their arenas cannot hold.
namespace elm {

// Idempotent; a no-op where the C library has no mallopt. Returns whether it took effect.
bool keep_freed_memory_for_reuse();

}  // namespace elm
