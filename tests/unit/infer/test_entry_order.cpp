// RecencyList and ImportanceHeap against naive reference models (arrays scanned in full).
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "infer/entry_order.h"

namespace elm::infer {
namespace {

TEST(RecencyList, KeepsTheGivenOrderAndMovesTouchedEntriesToTheBack) {
  RecencyList list(10, 15, {12, 10, 14, 11, 13});
  EXPECT_EQ(list.front(), 12);
  list.touch(12);
  EXPECT_EQ(list.order(), (std::vector<int64_t>{10, 14, 11, 13, 12}));
  list.touch(11);
  list.touch(11);  // touching the most recent again changes nothing
  EXPECT_EQ(list.order(), (std::vector<int64_t>{10, 14, 13, 12, 11}));
  EXPECT_EQ(list.front(), 10);
  EXPECT_THROW(list.touch(9), Error);
  EXPECT_THROW(list.touch(15), Error);
}

TEST(RecencyList, RejectsBadOrders) {
  EXPECT_THROW(RecencyList(0, 3, {0, 1}), Error);
  EXPECT_THROW(RecencyList(0, 3, {0, 1, 1}), Error);
  EXPECT_THROW(RecencyList(0, 3, {0, 1, 3}), Error);
  EXPECT_THROW(RecencyList(3, 3, {}), Error);
}

TEST(RecencyList, MatchesANaiveTimestampModel) {
  const int64_t first = 5, end = 45;
  std::vector<int64_t> init;
  for (int64_t i = end - 1; i >= first; --i) init.push_back(i);  // reverse index order
  RecencyList list(first, end, init);
  std::vector<int64_t> last_touch(static_cast<size_t>(end), 0);
  for (size_t k = 0; k < init.size(); ++k) last_touch[init[k]] = static_cast<int64_t>(k) + 1;
  int64_t clock = static_cast<int64_t>(init.size());
  std::mt19937_64 rng(7);
  for (int step = 0; step < 2000; ++step) {
    const int64_t i = first + static_cast<int64_t>(rng() % (end - first));
    list.touch(i);
    last_touch[i] = ++clock;
    int64_t expect = first;
    for (int64_t j = first; j < end; ++j) {
      if (last_touch[j] < last_touch[expect]) expect = j;
    }
    ASSERT_EQ(list.front(), expect) << "step " << step;
  }
}

TEST(ImportanceHeap, MatchesANaiveArgminOfCountThenAgeThenIndex) {
  const int64_t first = 3, end = 60;
  const int64_t n = end - first;
  std::vector<uint64_t> ages(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) ages[k] = static_cast<uint64_t>((k * 7) % n + 1);  // a permutation of 1..n
  ImportanceHeap heap(first, end, ages);
  std::vector<uint64_t> count(static_cast<size_t>(n), 0), age = ages;
  uint64_t clock = static_cast<uint64_t>(n);
  std::mt19937_64 rng(11);
  for (int step = 0; step < 3000; ++step) {
    const int64_t k = static_cast<int64_t>(rng() % n);
    if (rng() % 4 == 0) {  // a write: count back to 0, newest age
      count[k] = 0;
      age[k] = ++clock;
    } else {  // a retrieval
      ++count[k];
    }
    heap.update(first + k, count[k], age[k]);
    int64_t expect = 0;
    for (int64_t j = 1; j < n; ++j) {
      if (count[j] < count[expect] || (count[j] == count[expect] && age[j] < age[expect])) expect = j;
    }
    ASSERT_EQ(heap.top(), first + expect) << "step " << step;
  }
}

TEST(ImportanceHeap, TiesOnCountAndAgeGoToTheLowerIndex) {
  ImportanceHeap heap(0, 4, {5, 5, 5, 5});
  EXPECT_EQ(heap.top(), 0);
  heap.update(0, 1, 5);
  EXPECT_EQ(heap.top(), 1);
  heap.update(1, 1, 5);
  heap.update(2, 1, 5);
  EXPECT_EQ(heap.top(), 3);
  heap.update(3, 1, 5);
  EXPECT_EQ(heap.top(), 0);
  EXPECT_THROW(heap.update(4, 0, 0), Error);
}

}  // namespace
}  // namespace elm::infer
