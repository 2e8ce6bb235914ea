// The timeout watchdog: fires once with the operation and place when a deadline passes, never
// when operations finish in time. The action here records instead of aborting.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "support/assertions.h"
#include "dist/watchdog.h"

namespace elm::dist {
namespace {

using elm::testing::error_of;
using namespace std::chrono_literals;

struct Recorder {
  std::mutex mutex;
  std::vector<std::string> messages;
  Watchdog::Action action() {
    return [this](const std::string& m) {
      std::lock_guard<std::mutex> lock(mutex);
      messages.push_back(m);
    };
  }
  std::vector<std::string> get() {
    std::lock_guard<std::mutex> lock(mutex);
    return messages;
  }
};

TEST(Watchdog, FiresOnceWhenAnOperationOverrunsItsDeadline) {
  Recorder rec;
  Watchdog dog(0.05, "rank 1 of 2", rec.action());
  {
    auto guard = dog.watch("MPI_Barrier");
    std::this_thread::sleep_for(300ms);
  }
  auto messages = rec.get();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0], "MPI_Barrier (rank 1 of 2) did not finish within 0.05 s");
}

TEST(Watchdog, StaysQuietWhenOperationsFinishInTime) {
  Recorder rec;
  Watchdog dog(0.2, "rank 0 of 2", rec.action());
  for (int i = 0; i < 50; ++i) {
    auto guard = dog.watch("MPI_Allreduce");
    std::this_thread::sleep_for(2ms);
  }
  // Idle time after the last operation does not count.
  std::this_thread::sleep_for(400ms);
  EXPECT_TRUE(rec.get().empty());
}

TEST(Watchdog, EachOperationGetsAFreshDeadline) {
  Recorder rec;
  Watchdog dog(0.15, "rank 0 of 4", rec.action());
  // Ten operations of 50 ms each: 500 ms in all, but none over 150 ms.
  for (int i = 0; i < 10; ++i) {
    auto guard = dog.watch("MPI_Send");
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(rec.get().empty());
  {
    auto guard = dog.watch("MPI_Recv");
    std::this_thread::sleep_for(400ms);
  }
  auto messages = rec.get();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_CONTAINS(messages[0], "MPI_Recv (rank 0 of 4)");
}

TEST(Watchdog, RejectsANonPositiveTimeout) {
  Recorder rec;
  EXPECT_CONTAINS(error_of([&] { Watchdog dog(0, "x", rec.action()); }), "timeout must be > 0 seconds, got 0");
}

}  // namespace
}  // namespace elm::dist
