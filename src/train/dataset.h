#pragma once
// A JSONL training file, read and tokenised in full at load time. A malformed line is an
// elm::Error "FILE:LINE: reason", or, with DataOptions::skip_bad_lines, skipped and counted
// (skipped_lines(); the count is logged as a warning). Blank lines are ignored and not counted.
#include <cstdint>
#include <string>
#include <vector>

#include "text/tokenizer.h"
#include "train/data_options.h"
#include "train/dataset_formats.h"

namespace elm::train {

class Dataset {
 public:
  // Reads options.path. Throws elm::Error for a missing or unreadable file, an empty path, a
  // malformed line (unless skip_bad_lines), and a file without any valid example.
  static Dataset load(const DataOptions& options, const text::Tokenizer& tokenizer);
  // Examples built in code (tests, generated data). `name` stands in for the path.
  static Dataset from_examples(std::vector<Example> examples, DataFormat format, std::string name = "<memory>");

  std::int64_t size() const { return static_cast<std::int64_t>(examples_.size()); }
  const Example& at(std::int64_t i) const;  // throws elm::Error when out of range
  DataFormat format() const { return format_; }
  const std::string& path() const { return path_; }
  std::int64_t skipped_lines() const { return skipped_; }          // malformed lines skipped
  std::int64_t truncated_examples() const { return truncated_; }   // examples cut to max_length
  // The 1-based line number of each example in the file (0 for from_examples).
  std::int64_t line_of(std::int64_t i) const;

 private:
  std::vector<Example> examples_;
  std::vector<std::int64_t> lines_;
  DataFormat format_ = DataFormat::pretrain;
  std::string path_;
  std::int64_t skipped_ = 0;
  std::int64_t truncated_ = 0;
};

}  // namespace elm::train
