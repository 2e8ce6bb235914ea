#pragma once
// A deadline on blocking communication. MPI and NCCL have no timeouts: a rank that never reaches a
// collective (a crash elsewhere, a code path only some ranks take) leaves the others blocked
// forever. The watchdog turns such a hang into a job abort with a message that names the
// operation and the rank.
//
//   Watchdog dog(600.0, "rank 2 of 4", [](const std::string& m) { abort_all(m); });
//   { auto guard = dog.watch("MPI_Allreduce"); MPI_Allreduce(...); }   // at most 600 s
//
// One background thread per watchdog, asleep on a condition variable until the deadline of the
// operation in flight (no polling). One operation at a time: a communicator is used from one
// thread. If the deadline passes before the guard is destroyed, on_timeout runs on the watchdog
// thread with "<operation> (<where>) did not finish within T s". It is expected not to return
// (abort_all); if it does, the operation is not reported again.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace elm::dist {

class Watchdog {
 public:
  using Action = std::function<void(const std::string& message)>;

  // timeout_seconds must be > 0 (elm::Error otherwise).
  Watchdog(double timeout_seconds, std::string where, Action on_timeout);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  class Guard {
   public:
    ~Guard();
    Guard(Guard&& other) noexcept;
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    Guard& operator=(Guard&&) = delete;

   private:
    friend class Watchdog;
    Guard(Watchdog* dog, uint64_t id) : dog_(dog), id_(id) {}
    Watchdog* dog_;
    uint64_t id_;
  };

  // Starts the deadline of `operation` (a string literal or otherwise outliving the guard); it
  // ends when the guard is destroyed.
  [[nodiscard]] Guard watch(const char* operation);

  double timeout_seconds() const { return timeout_seconds_; }
  const std::string& where() const { return where_; }
  void set_where(std::string where);

 private:
  void finish(uint64_t id);
  void run();

  const double timeout_seconds_;
  std::string where_;
  Action on_timeout_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  uint64_t next_id_ = 1;
  uint64_t active_id_ = 0;  // 0: nothing in flight
  const char* active_op_ = nullptr;
  std::chrono::steady_clock::time_point deadline_;
  std::thread thread_;  // last: starts after every member above exists
};

}  // namespace elm::dist
