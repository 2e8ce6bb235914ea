#include "train/dataset.h"

#include <fstream>

#include "core/error.h"
#include "core/logging.h"

namespace elm::train {

namespace {

bool blank(const std::string& s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

}  // namespace

Dataset Dataset::load(const DataOptions& options, const text::Tokenizer& tokenizer) {
  ELM_CHECK(!options.path.empty(), "no ", data_format_name(options.format),
            " data file given (set data.train_path / data.eval_path)");
  std::ifstream in(options.path, std::ios::binary);
  ELM_CHECK(in.good(), "cannot open data file ", options.path);
  const SpecialIds ids = SpecialIds::of(tokenizer);

  Dataset d;
  d.format_ = options.format;
  d.path_ = options.path;
  std::string line;
  std::int64_t lineno = 0;
  std::string first_error;
  while (std::getline(in, line)) {
    ++lineno;
    if (blank(line)) continue;
    try {
      Example ex = parse_example(line, options, tokenizer, ids);
      d.truncated_ += ex.truncated ? 1 : 0;
      d.examples_.push_back(std::move(ex));
      d.lines_.push_back(lineno);
    } catch (const std::exception& e) {  // elm::Error, and anything the JSON library throws
      std::string msg = str_cat(options.path, ":", lineno, ": malformed ", data_format_name(options.format),
                                " record: ", e.what());
      if (!options.skip_bad_lines) throw Error(msg);
      if (d.skipped_ == 0) first_error = msg;
      ++d.skipped_;
    }
  }
  ELM_CHECK(!in.bad(), "error reading data file ", options.path);
  if (d.skipped_ > 0) {
    ELM_LOG(warning) << options.path << ": skipped " << d.skipped_ << " malformed line(s) (data.skip_bad_lines); first: "
                     << first_error;
  }
  ELM_CHECK(!d.examples_.empty(), "data file ", options.path, " holds no valid ", data_format_name(options.format),
            " example (", lineno, " lines, ", d.skipped_, " skipped)");
  ELM_LOG(info) << "loaded " << d.examples_.size() << " " << data_format_name(options.format) << " examples from "
                << options.path << " (" << d.truncated_ << " truncated to " << options.max_length << " tokens, "
                << d.skipped_ << " lines skipped)";
  return d;
}

Dataset Dataset::from_examples(std::vector<Example> examples, DataFormat format, std::string name) {
  ELM_CHECK(!examples.empty(), "dataset ", name, " holds no example");
  Dataset d;
  d.examples_ = std::move(examples);
  d.lines_.assign(d.examples_.size(), 0);
  d.format_ = format;
  d.path_ = std::move(name);
  for (const auto& ex : d.examples_) {
    ELM_CHECK(ex.loss_mask.size() == ex.input_ids.size() && !ex.input_ids.empty(),
              "dataset ", d.path_, ": an example has no tokens or a loss mask of the wrong length");
    d.truncated_ += ex.truncated ? 1 : 0;
  }
  return d;
}

const Example& Dataset::at(std::int64_t i) const {
  ELM_CHECK(i >= 0 && i < size(), "dataset ", path_, ": example index ", i, " out of range [0, ", size(), ")");
  return examples_[static_cast<std::size_t>(i)];
}

std::int64_t Dataset::line_of(std::int64_t i) const {
  at(i);
  return lines_[static_cast<std::size_t>(i)];
}

}  // namespace elm::train
