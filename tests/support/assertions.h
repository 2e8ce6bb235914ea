#pragma once
// Assertions the suites share: the message of an expected elm::Error, and substring checks.
#include <string>

#include <gtest/gtest.h>

#include "core/error.h"

namespace elm::testing {

// The message of the elm::Error that `fn` throws; fails the test when it throws nothing.
template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const elm::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected elm::Error";
  return "";
}

inline ::testing::AssertionResult AssertContains(const char* hay_expr, const char* needle_expr, const std::string& hay,
                                                 const std::string& needle) {
  if (hay.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << hay_expr << " does not contain " << needle_expr << "\n  text:   " << hay
                                       << "\n  needle: " << needle;
}

}  // namespace elm::testing

// EXPECT_CONTAINS(text, needle): text contains needle as a substring.
#define EXPECT_CONTAINS(hay, needle) EXPECT_PRED_FORMAT2(::elm::testing::AssertContains, hay, needle)
