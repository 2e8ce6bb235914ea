#include "dist/watchdog.h"

#include <sstream>

#include "core/error.h"

namespace elm::dist {

namespace {
std::string seconds_text(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}
}  // namespace

Watchdog::Watchdog(double timeout_seconds, std::string where, Action on_timeout)
    : timeout_seconds_(timeout_seconds), where_(std::move(where)), on_timeout_(std::move(on_timeout)) {
  ELM_CHECK(timeout_seconds > 0, "communication timeout must be > 0 seconds, got ", timeout_seconds);
  ELM_CHECK(on_timeout_ != nullptr, "Watchdog needs an on_timeout action");
  thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Watchdog::set_where(std::string where) {
  std::lock_guard<std::mutex> lock(mutex_);
  where_ = std::move(where);
}

Watchdog::Guard Watchdog::watch(const char* operation) {
  const auto timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(timeout_seconds_));
  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id = next_id_++;
    active_id_ = id;
    active_op_ = operation;
    deadline_ = std::chrono::steady_clock::now() + timeout;
  }
  wake_.notify_all();
  return Guard(this, id);
}

void Watchdog::finish(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Only the newest operation is tracked; an older guard ending late must not clear it.
  if (active_id_ == id) active_id_ = 0;
  // No notify: the thread wakes at the old deadline, sees nothing (or a newer deadline) and
  // sleeps again. Saves a context switch per operation.
}

void Watchdog::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    if (active_id_ == 0) {
      wake_.wait(lock);
      continue;
    }
    const uint64_t id = active_id_;
    const auto deadline = deadline_;
    if (std::chrono::steady_clock::now() < deadline) {
      wake_.wait_until(lock, deadline);
      continue;
    }
    if (active_id_ != id) continue;
    const std::string message =
        str_cat(active_op_, " (", where_, ") did not finish within ", seconds_text(timeout_seconds_), " s");
    active_id_ = 0;  // report once
    lock.unlock();
    on_timeout_(message);
    lock.lock();
  }
}

Watchdog::Guard::~Guard() {
  if (dog_ != nullptr) dog_->finish(id_);
}

Watchdog::Guard::Guard(Guard&& other) noexcept : dog_(other.dog_), id_(other.id_) { other.dog_ = nullptr; }

}  // namespace elm::dist
