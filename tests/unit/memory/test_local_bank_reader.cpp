// LocalBankReader: rows and validity for any index shape; out-of-range indices are errors; one-row writes.
#include <gtest/gtest.h>

#include "core/error.h"
#include "memory/bank_reader.h"

namespace elm::memory {
namespace {

LocalBankReader small_bank() {
  // 4 entries of length 3; entry 2 is all padding (pad id 9) and flagged invalid.
  auto tokens = torch::tensor({1, 2, 9, 3, 4, 5, 9, 9, 9, 6, 9, 9}, torch::kInt32).view({4, 3});
  auto valid = torch::tensor({true, true, false, true});
  return LocalBankReader(tokens, valid, 9);
}

TEST(LocalBankReader, FetchKeepsIndexShapeAndAppendsLength) {
  const auto bank = small_bank();
  EXPECT_EQ(bank.num_entries(), 4);
  EXPECT_EQ(bank.entry_length(), 3);
  auto rows = bank.fetch(torch::tensor({3, 0, 2, 1, 1, 3}, torch::kInt64).view({2, 3}));
  ASSERT_EQ(rows.tokens.sizes(), (std::vector<int64_t>{2, 3, 3}));
  EXPECT_EQ(rows.tokens.scalar_type(), torch::kInt64);
  EXPECT_EQ(rows.tokens[0][0][0].item<int64_t>(), 6);
  EXPECT_EQ(rows.tokens[1][0][2].item<int64_t>(), 5);
  EXPECT_TRUE(torch::equal(rows.valid, torch::tensor({true, true, false, true, true, true}).view({2, 3})));
}

TEST(LocalBankReader, OutOfRangeIndexIsAnError) {
  const auto bank = small_bank();
  EXPECT_THROW(bank.fetch(torch::tensor({4}, torch::kInt64)), Error);
  EXPECT_THROW(bank.fetch(torch::tensor({-1}, torch::kInt64)), Error);
}

TEST(LocalBankReader, ResetChecksShapes) {
  auto bank = small_bank();
  EXPECT_THROW(bank.reset(torch::zeros({4}, torch::kInt32), torch::ones({4}, torch::kBool)), Error);
  EXPECT_THROW(bank.reset(torch::zeros({4, 3}, torch::kInt32), torch::ones({5}, torch::kBool)), Error);
  bank.reset(torch::full({4, 3}, 7, torch::kInt32), torch::ones({4}, torch::kBool));
  EXPECT_EQ(bank.fetch(torch::tensor({2}, torch::kInt64)).tokens[0][1].item<int64_t>(), 7);
}

TEST(LocalBankReader, WriteEntryChangesOneRowOnly) {
  auto bank = small_bank();
  bank.write_entry(2, {8, 7, 9}, true);
  auto rows = bank.fetch(torch::tensor({1, 2, 3}, torch::kInt64));
  EXPECT_TRUE(torch::equal(rows.tokens[1], torch::tensor({8, 7, 9}, torch::kInt64)));
  EXPECT_TRUE(rows.valid[1].item<bool>());
  EXPECT_TRUE(torch::equal(rows.tokens[0], torch::tensor({3, 4, 5}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(rows.tokens[2], torch::tensor({6, 9, 9}, torch::kInt64)));
  bank.write_entry(0, {9, 9, 9}, false);
  EXPECT_FALSE(bank.fetch(torch::tensor({0}, torch::kInt64)).valid[0].item<bool>());
  EXPECT_THROW(bank.write_entry(4, {1, 2, 3}, true), Error);
  EXPECT_THROW(bank.write_entry(1, {1, 2}, true), Error);
}

}  // namespace
}  // namespace elm::memory
