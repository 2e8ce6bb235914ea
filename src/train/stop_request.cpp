#include "train/stop_request.h"

#include <csignal>

namespace elm::train {
namespace {

volatile std::sig_atomic_t g_signal = 0;

// Async-signal-safe: one store.
void on_signal(int sig) { g_signal = sig; }

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // blocking calls (MPI, file I/O) carry on; the flag is read between steps
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int stop_signal() { return g_signal; }

void clear_stop_signal() { g_signal = 0; }

}  // namespace elm::train
