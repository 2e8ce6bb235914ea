#include "memory/bank.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/clock.h"
#include "core/error.h"
#include "core/logging.h"
#include "io/hdf5_file.h"
#include "memory/knowledge_base.h"
#include "memory/memory_config.h"
#include "text/tokenizer.h"

namespace elm::memory {
namespace {

namespace fs = std::filesystem;

// Dataset and attribute names of the file format (docs/bank.md).
constexpr const char* kTokens = "tokens";
constexpr const char* kValid = "valid";
constexpr const char* kText = "text";
constexpr const char* kTokenCount = "token_count";
constexpr const char* kComplete = "complete";

std::string absolute_path(const std::string& p) {
  if (p.empty()) return p;
  std::error_code ec;
  auto abs = fs::absolute(p, ec);
  return ec ? p : abs.lexically_normal().string();
}

// fsync a file by path (after HDF5 closed it), rename it over `final_path`, fsync the directory.
void commit_file(const std::string& tmp, const std::string& final_path) {
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open '", tmp, "' to sync it: ", std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail("fsync of '", tmp, "' failed: ", std::strerror(err));
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    fail("cannot rename '", tmp, "' to '", final_path, "': ", std::strerror(errno));
  }
  std::string dir = fs::path(final_path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

// Removes PATH.tmp unless disarmed (the rename happened).
// A temporary name of this process's own next to `path`, so concurrent writers (two `bank set`
// runs, or ranks sharing a cache path) never write through each other's file.
std::string unique_tmp_path(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return str_cat(path, ".tmp.", ::getpid(), ".", counter++);
}

// Exclusive advisory lock on PATH.lock for a read-modify-write of PATH; released on destruction.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : lock_path_(path + ".lock") {
    fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ELM_CHECK(fd_ >= 0, "cannot create lock file '", lock_path_, "': ", std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const int err = errno;
        ::close(fd_);
        fail("cannot lock '", lock_path_, "': ", std::strerror(err));
      }
    }
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  std::string lock_path_;
  int fd_ = -1;
};

struct TmpGuard {
  std::string path;
  bool armed = true;
  ~TmpGuard() {
    if (armed) {
      std::error_code ec;
      fs::remove(path, ec);
    }
  }
};

void write_metadata(io::H5File& f, int64_t n, int64_t l, const BankMetadata& m) {
  f.set_attribute("format", kBankFormatName);
  f.set_attribute("format_version", m.format_version);
  f.set_attribute("num_entries", n);
  f.set_attribute("entry_length", l);
  f.set_attribute("grid_side", checked_grid_side(n));
  f.set_attribute("grid_layout", "entry i is product-key grid cell (i / grid_side, i % grid_side)");
  f.set_attribute("pad_id", m.pad_id);
  f.set_attribute("vocab_size", m.vocab_size);
  f.set_attribute("tokenizer_path", m.tokenizer_path);
  f.set_attribute("tokenizer_fingerprint", m.tokenizer_fingerprint);
  f.set_attribute("source_path", m.source_path);
  f.set_attribute("source_fingerprint", m.source_fingerprint);
  f.set_attribute("source_facts", m.source_facts);
  f.set_attribute("build_time", m.build_time);
}

// Opens a bank file read-only and checks everything but the table contents.
BankInfo check_bank_file(const io::H5File& f) {
  const std::string& path = f.path();
  ELM_CHECK(f.has_attribute("format") && f.attribute_string("format") == kBankFormatName, "bank file ", path,
            ": not an ExplicitLM bank (root attribute format != \"", kBankFormatName, "\")");
  ELM_CHECK(f.has_attribute(kComplete) && f.attribute_int(kComplete) == 1, "bank file ", path,
            ": incomplete (no 'complete' attribute): its write was interrupted; rebuild it");
  BankInfo info;
  info.meta.format_version = f.attribute_int("format_version");
  ELM_CHECK(info.meta.format_version == kBankFormatVersion, "bank file ", path, ": format version ",
            info.meta.format_version, " is not supported (this build reads version ", kBankFormatVersion, ")");
  info.num_entries = f.attribute_int("num_entries");
  info.entry_length = f.attribute_int("entry_length");
  ELM_CHECK(info.entry_length >= 1, "bank file ", path, ": entry_length ", info.entry_length, " must be >= 1");
  try {
    checked_grid_side(info.num_entries);
  } catch (const Error& e) {
    fail("bank file ", path, ": ", e.what());
  }
  info.meta.pad_id = f.attribute_int("pad_id");
  info.meta.vocab_size = f.attribute_int("vocab_size");
  info.meta.tokenizer_path = f.attribute_string("tokenizer_path");
  info.meta.tokenizer_fingerprint = f.attribute_string("tokenizer_fingerprint");
  info.meta.source_path = f.attribute_string("source_path");
  info.meta.source_fingerprint = f.attribute_string("source_fingerprint");
  info.meta.source_facts = f.attribute_int("source_facts");
  info.meta.build_time = f.attribute_string("build_time");
  ELM_CHECK(info.meta.pad_id >= 0 && info.meta.pad_id < info.meta.vocab_size, "bank file ", path, ": pad_id ",
            info.meta.pad_id, " is outside the vocabulary [0, ", info.meta.vocab_size, ")");

  const int64_t n = info.num_entries, l = info.entry_length;
  auto expect = [&](const char* name, io::H5Kind kind, std::vector<int64_t> shape) {
    ELM_CHECK(f.has_dataset(name), "bank file ", path, ": dataset '/", name, "' is missing");
    const auto ds = f.dataset_info(name);
    bool kind_ok = ds.kind == kind || (kind == io::H5Kind::Bool && ds.kind == io::H5Kind::UInt8);
    ELM_CHECK(kind_ok, "bank file ", path, ": dataset '/", name, "' holds ", io::to_string(ds.kind), ", expected ",
              io::to_string(kind));
    ELM_CHECK(ds.shape == shape, "bank file ", path, ": dataset '/", name, "' has shape ",
              torch::IntArrayRef(ds.shape), ", expected ", torch::IntArrayRef(shape), " (num_entries ", n,
              ", entry_length ", l, ")");
  };
  expect(kTokens, io::H5Kind::Int32, {n, l});
  expect(kValid, io::H5Kind::Bool, {n});
  expect(kText, io::H5Kind::String, {n});
  expect(kTokenCount, io::H5Kind::Int32, {n});
  return info;
}

// Tokens [count, L] int32 and validity [count] bool of rows first, first + stride, ... of an open,
// checked bank file (the range is checked by the caller).
std::pair<torch::Tensor, torch::Tensor> read_token_rows(const io::H5File& f, const BankInfo& info, int64_t first,
                                                        int64_t count, int64_t stride = 1) {
  auto tokens = torch::empty({count, info.entry_length}, torch::kInt32);
  std::vector<uint8_t> valid(static_cast<size_t>(count));
  if (count > 0) {
    f.read_int32_rows(kTokens, first, count, tokens.data_ptr<int32_t>(), stride);
    f.read_uint8_rows(kValid, first, count, valid.data(), stride);
  }
  return {tokens, torch::from_blob(valid.data(), {count}, torch::kUInt8).to(torch::kBool).clone()};
}

// Reads rows [first, first+count) of an open, checked bank file.
MemoryBank read_rows(const io::H5File& f, const BankInfo& info, int64_t first, int64_t count) {
  MemoryBank bank;
  bank.num_entries = count;
  bank.entry_length = info.entry_length;
  bank.meta = info.meta;
  std::tie(bank.tokens, bank.valid) = read_token_rows(f, info, first, count);
  bank.texts = f.read_string_rows(kText, first, count);
  bank.token_counts.resize(static_cast<size_t>(count));
  f.read_int32_rows(kTokenCount, first, count, bank.token_counts.data());
  return bank;
}

}  // namespace

int64_t MemoryBank::grid_side() const { return checked_grid_side(num_entries); }

std::pair<int64_t, int64_t> MemoryBank::grid_cell(int64_t index) const {
  const int64_t side = grid_side();
  return {index / side, index % side};
}

std::string fingerprint_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ELM_CHECK(in.good(), "cannot open '", path, "' to fingerprint it");
  uint64_t h = 1469598103934665603ull;
  uint64_t size = 0;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize got = in.gcount();
    for (std::streamsize i = 0; i < got; ++i) {
      h ^= static_cast<uint8_t>(buf[static_cast<size_t>(i)]);
      h *= 1099511628211ull;
    }
    size += static_cast<uint64_t>(got);
  }
  ELM_CHECK(!in.bad(), "read error while fingerprinting '", path, "'");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return str_cat("fnv1a64:", hex, ":", size);
}

int64_t checked_grid_side(int64_t num_entries) {
  ELM_CHECK(num_entries >= 1, "knowledge_num ", num_entries, " must be >= 1");
  ELM_CHECK(num_entries <= kMaxKnowledgeNum, "knowledge_num ", num_entries, " is larger than ", kMaxKnowledgeNum);
  const int64_t side = exact_sqrt(num_entries);
  if (side < 0) {
    const auto lower = static_cast<int64_t>(std::sqrt(static_cast<double>(num_entries)));
    fail("knowledge_num ", num_entries, " is not a perfect square: the product-key router indexes a sqrt(N) x sqrt(N) ",
         "grid (nearest: ", lower * lower, " or ", (lower + 1) * (lower + 1), ")");
  }
  return side;
}

int64_t default_pad_id(const text::Tokenizer& tokenizer) {
  auto id = tokenizer.token_to_id("<|endoftext|>");
  ELM_CHECK(id.has_value(), "tokenizer ", tokenizer.path(), " has no <|endoftext|> token to pad bank entries with");
  return *id;
}

std::vector<int32_t> encode_entry(const text::Tokenizer& tokenizer, const std::string& text, int64_t entry_length,
                                  int64_t pad_id, int32_t* token_count) {
  std::vector<int32_t> ids = tokenizer.encode(text);
  if (token_count) *token_count = static_cast<int32_t>(ids.size());
  ids.resize(static_cast<size_t>(entry_length), static_cast<int32_t>(pad_id));
  return ids;
}

MemoryBank build_bank(const std::vector<std::string>& facts, const text::Tokenizer& tokenizer, int64_t num_entries,
                      int64_t entry_length, int64_t pad_id, const BankSource& source, bool truncate_facts) {
  const std::string from = source.path.empty() ? std::string("the facts") : "knowledge base " + source.path;
  checked_grid_side(num_entries);
  ELM_CHECK(entry_length >= 1, "knowledge_length ", entry_length, " must be >= 1");
  ELM_CHECK(pad_id >= 0 && pad_id < tokenizer.vocab_size(), "pad id ", pad_id, " is outside the vocabulary [0, ",
            tokenizer.vocab_size(), ")");
  const int64_t total = static_cast<int64_t>(facts.size());
  if (total > num_entries && !truncate_facts) {
    fail(from, " has ", total, " facts but the bank has knowledge_num = ", num_entries,
         " entries; raise knowledge_num or pass --truncate-kb to keep the first ", num_entries);
  }
  const int64_t used = std::min(total, num_entries);
  if (total > num_entries) {
    ELM_LOG(warning) << from << ": keeping the first " << num_entries << " of " << total << " facts";
  }

  MemoryBank bank;
  bank.num_entries = num_entries;
  bank.entry_length = entry_length;
  bank.tokens = torch::full({num_entries, entry_length}, static_cast<int32_t>(pad_id), torch::kInt32);
  bank.texts.assign(static_cast<size_t>(num_entries), "");
  bank.token_counts.assign(static_cast<size_t>(num_entries), 0);
  int32_t* tok = bank.tokens.data_ptr<int32_t>();
  at::parallel_for(0, used, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      std::vector<int32_t> ids;
      try {
        ids = encode_entry(tokenizer, facts[static_cast<size_t>(i)], entry_length, pad_id,
                           &bank.token_counts[static_cast<size_t>(i)]);
      } catch (const Error& e) {
        fail(from, ": fact ", i, ": ", e.what());
      }
      std::copy(ids.begin(), ids.end(), tok + i * entry_length);
      bank.texts[static_cast<size_t>(i)] = facts[static_cast<size_t>(i)];
    }
  });
  bank.valid = (bank.tokens != static_cast<int32_t>(pad_id)).any(1);

  bank.meta.pad_id = pad_id;
  bank.meta.vocab_size = tokenizer.vocab_size();
  bank.meta.tokenizer_path = absolute_path(tokenizer.path());
  bank.meta.tokenizer_fingerprint = fingerprint_file(tokenizer.path());
  bank.meta.source_path = absolute_path(source.path);
  bank.meta.source_fingerprint = source.fingerprint;
  bank.meta.source_facts = total;
  bank.meta.build_time = utc_now();
  return bank;
}

void save_bank(const std::string& path, const MemoryBank& bank) {
  const int64_t n = bank.num_entries, l = bank.entry_length;
  checked_grid_side(n);
  ELM_CHECK(bank.tokens.defined() && bank.tokens.dim() == 2 && bank.tokens.size(0) == n && bank.tokens.size(1) == l,
            "save_bank ", path, ": tokens must be [", n, ", ", l, "]");
  ELM_CHECK(bank.valid.defined() && bank.valid.dim() == 1 && bank.valid.size(0) == n, "save_bank ", path,
            ": valid must be [", n, "]");
  ELM_CHECK(static_cast<int64_t>(bank.texts.size()) == n && static_cast<int64_t>(bank.token_counts.size()) == n,
            "save_bank ", path, ": texts and token_counts must have ", n, " elements");
  const std::string tmp = unique_tmp_path(path);
  TmpGuard guard{tmp};
  {
    io::H5File f = io::H5File::create(tmp);
    const torch::Tensor tokens = bank.tokens.to(torch::kInt32).contiguous();
    const torch::Tensor valid = bank.valid.to(torch::kUInt8).contiguous();
    f.create_int32(kTokens, {n, l}, tokens.data_ptr<int32_t>());
    f.create_bool(kValid, {n}, valid.data_ptr<uint8_t>());
    f.create_strings(kText, bank.texts);
    f.create_int32(kTokenCount, {n}, bank.token_counts.data());
    write_metadata(f, n, l, bank.meta);
    f.flush();
    f.set_attribute(kComplete, int64_t{1});  // last: a file without it is refused
    f.close();
  }
  commit_file(tmp, path);
  guard.armed = false;
}

BankInfo read_bank_info(const std::string& path) {
  io::H5File f = io::H5File::open_read(path);
  return check_bank_file(f);
}

MemoryBank load_bank(const std::string& path, std::optional<int64_t> vocab_size) {
  io::H5File f = io::H5File::open_read(path);
  const BankInfo info = check_bank_file(f);
  MemoryBank bank = read_rows(f, info, 0, info.num_entries);
  f.close();

  const int64_t vocab = vocab_size.value_or(info.meta.vocab_size);
  ELM_CHECK(info.meta.pad_id < vocab, "bank file ", path, ": pad_id ", info.meta.pad_id, " >= vocab size ", vocab);
  const torch::Tensor bad = ((bank.tokens < 0) | (bank.tokens >= vocab)).any(1);
  if (bad.any().item<bool>()) {
    const int64_t entry = bad.nonzero()[0][0].item<int64_t>();
    const torch::Tensor row = bank.tokens[entry];
    const torch::Tensor bad_ids = row.masked_select((row < 0) | (row >= vocab));
    fail("bank file ", path, ": entry ", entry, " holds token id ", bad_ids[0].item<int64_t>(),
         ", outside the vocabulary [0, ", vocab, ")", vocab_size ? " of the model's tokenizer" : "");
  }
  const torch::Tensor has_tokens = (bank.tokens != static_cast<int32_t>(info.meta.pad_id)).any(1);
  const torch::Tensor wrong = bank.valid & ~has_tokens;
  if (wrong.any().item<bool>()) {
    fail("bank file ", path, ": entry ", wrong.nonzero()[0][0].item<int64_t>(),
         " is marked valid but holds only padding (pad_id ", info.meta.pad_id, ")");
  }
  return bank;
}

MemoryBank read_bank_rows(const std::string& path, int64_t first, int64_t count) {
  io::H5File f = io::H5File::open_read(path);
  const BankInfo info = check_bank_file(f);
  ELM_CHECK(first >= 0 && first < info.num_entries, "bank file ", path, ": index ", first, " is outside [0, ",
            info.num_entries, ")");
  ELM_CHECK(count >= 1 && count <= info.num_entries - first, "bank file ", path, ": entries [", first, ", ",
            first + count, ") go past the end of the bank [0, ", info.num_entries, ")");
  return read_rows(f, info, first, count);
}

BankTable read_bank_table(const std::string& path, int64_t first, int64_t count, int64_t stride) {
  io::H5File f = io::H5File::open_read(path);
  BankTable t;
  t.info = check_bank_file(f);
  ELM_CHECK(count >= 0 && stride >= 1, "bank file ", path, ": cannot read ", count, " rows with stride ", stride);
  if (count > 0) {
    const int64_t last = first + (count - 1) * stride;
    ELM_CHECK(first >= 0 && last < t.info.num_entries, "bank file ", path, ": entries ", first, " + k * ", stride,
              " for k < ", count, " go past the end of the bank [0, ", t.info.num_entries, ")");
  }
  std::tie(t.tokens, t.valid) = read_token_rows(f, t.info, first, count, stride);
  return t;
}

namespace {

// Why the bank file at cache_path cannot serve (N, L, pad id, tokenizer, knowledge base), or ""
// when it can. Reading only its attributes, never its rows.
std::string cache_problem(const std::string& cache_path, const std::string& kb_path, const text::Tokenizer& tokenizer,
                          int64_t num_entries, int64_t entry_length) {
  const int64_t pad_id = default_pad_id(tokenizer);
  std::error_code ec;
  const bool have_kb = !kb_path.empty() && fs::exists(kb_path, ec);
  try {
    const BankInfo info = read_bank_info(cache_path);
    if (info.num_entries != num_entries) return str_cat("knowledge_num ", info.num_entries, " != ", num_entries);
    if (info.entry_length != entry_length) return str_cat("knowledge_length ", info.entry_length, " != ", entry_length);
    if (info.meta.pad_id != pad_id) return str_cat("pad id ", info.meta.pad_id, " != ", pad_id);
    if (info.meta.tokenizer_fingerprint != fingerprint_file(tokenizer.path())) return "the tokenizer changed";
    if (have_kb && info.meta.source_fingerprint != fingerprint_file(kb_path)) return "the knowledge base changed";
  } catch (const Error& e) {
    return str_cat("cannot reuse it (", e.what(), ")");
  }
  return "";
}

MemoryBank build_from_kb(const std::string& cache_path, const std::string& kb_path, const text::Tokenizer& tokenizer,
                         int64_t num_entries, int64_t entry_length) {
  ELM_CHECK(!kb_path.empty(), "no knowledge base to build the memory bank from: set model.database_init_path");
  const KnowledgeBase kb = read_knowledge_base(kb_path);
  MemoryBank bank = build_bank(kb.facts, tokenizer, num_entries, entry_length, default_pad_id(tokenizer),
                               BankSource{kb_path, fingerprint_file(kb_path)});
  if (!cache_path.empty()) {
    save_bank(cache_path, bank);
    ELM_LOG(info) << "memory bank: built " << cache_path << " from " << kb_path << " (" << kb.facts.size()
                  << " facts, " << num_entries << " x " << entry_length << ")";
  }
  return bank;
}

// Whether cache_path can be reused as it is (logging why not).
bool reusable(const std::string& cache_path, const std::string& kb_path, const text::Tokenizer& tokenizer,
              int64_t num_entries, int64_t entry_length, bool recompute) {
  std::error_code ec;
  if (cache_path.empty() || recompute || !fs::exists(cache_path, ec)) return false;
  const std::string why = cache_problem(cache_path, kb_path, tokenizer, num_entries, entry_length);
  if (!why.empty()) ELM_LOG(info) << "memory bank: rebuilding " << cache_path << ": " << why;
  return why.empty();
}

}  // namespace

MemoryBank load_or_build_bank(const std::string& cache_path, const std::string& kb_path,
                              const text::Tokenizer& tokenizer, int64_t num_entries, int64_t entry_length,
                              bool recompute, bool* reused) {
  if (reused) *reused = false;
  checked_grid_side(num_entries);
  if (reusable(cache_path, kb_path, tokenizer, num_entries, entry_length, recompute)) {
    MemoryBank bank = load_bank(cache_path, tokenizer.vocab_size());
    ELM_LOG(info) << "memory bank: reusing " << cache_path << " (" << num_entries << " x " << entry_length << ")";
    if (reused) *reused = true;
    return bank;
  }
  return build_from_kb(cache_path, kb_path, tokenizer, num_entries, entry_length);
}

bool ensure_bank_file(const std::string& cache_path, const std::string& kb_path, const text::Tokenizer& tokenizer,
                      int64_t num_entries, int64_t entry_length, bool recompute) {
  ELM_CHECK(!cache_path.empty(), "ensure_bank_file: no bank file path");
  checked_grid_side(num_entries);
  if (reusable(cache_path, kb_path, tokenizer, num_entries, entry_length, recompute)) {
    ELM_LOG(info) << "memory bank: reusing " << cache_path << " (" << num_entries << " x " << entry_length << ")";
    return true;
  }
  build_from_kb(cache_path, kb_path, tokenizer, num_entries, entry_length);
  return false;
}

std::vector<int32_t> set_entry(const std::string& path, int64_t index, const std::string& text,
                               const text::Tokenizer& tokenizer,
                               const std::function<void(const std::string& tmp_path)>& before_commit) {
  ELM_CHECK(fs::exists(path), "bank file ", path, " does not exist");
  FileLock lock(path);  // the whole read-modify-write of one bank file is serialised: no edit is lost
  const BankInfo info = read_bank_info(path);
  ELM_CHECK(index >= 0 && index < info.num_entries, "bank file ", path, ": index ", index, " is outside [0, ",
            info.num_entries, ")");
  const std::string fp = fingerprint_file(tokenizer.path());
  ELM_CHECK(fp == info.meta.tokenizer_fingerprint, "bank file ", path, ": tokenizer ", tokenizer.path(),
            " is not the one the bank was built with (", info.meta.tokenizer_path, ", fingerprint ",
            info.meta.tokenizer_fingerprint, ")");
  int32_t count = 0;
  std::vector<int32_t> ids;
  try {
    ids = encode_entry(tokenizer, text, info.entry_length, info.meta.pad_id, &count);
  } catch (const Error& e) {
    fail("bank entry ", index, ": ", e.what());
  }
  ELM_CHECK(text.find('\0') == std::string::npos, "bank entry ", index, ": the text contains a NUL byte");
  uint8_t valid = 0;
  for (int32_t id : ids) valid |= (id != info.meta.pad_id);

  const std::string tmp = unique_tmp_path(path);
  TmpGuard guard{tmp};
  std::error_code ec;
  fs::copy_file(path, tmp, fs::copy_options::overwrite_existing, ec);
  ELM_CHECK(!ec, "bank file ", path, ": cannot copy to ", tmp, " for the edit: ", ec.message());
  fs::permissions(tmp, fs::perms::owner_write, fs::perm_options::add, ec);
  {
    io::H5File f = io::H5File::open_write(tmp);
    f.set_attribute(kComplete, int64_t{0});  // the copy is incomplete until the edit is done
    f.write_int32_rows(kTokens, index, 1, ids.data());
    f.write_uint8_rows(kValid, index, 1, &valid);
    f.write_string_rows(kText, index, {text});
    f.write_int32_rows(kTokenCount, index, 1, &count);
    f.set_attribute("modified_time", utc_now());
    if (before_commit) before_commit(tmp);
    f.flush();
    f.set_attribute(kComplete, int64_t{1});
    f.close();
  }
  commit_file(tmp, path);
  guard.armed = false;
  return ids;
}

std::vector<int64_t> find_entries(const MemoryBank& bank, const std::string& substring) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < bank.texts.size(); ++i) {
    if (bank.texts[i].find(substring) != std::string::npos) out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

BankStats bank_stats(const MemoryBank& bank) {
  BankStats s;
  s.num_entries = bank.num_entries;
  s.entry_length = bank.entry_length;
  s.length_histogram.assign(static_cast<size_t>(bank.entry_length + 1), 0);
  const torch::Tensor lengths = (bank.tokens != static_cast<int32_t>(bank.meta.pad_id)).sum(1).to(torch::kInt64).contiguous();
  const torch::Tensor valid = bank.valid.to(torch::kBool).contiguous();
  const int64_t* len = lengths.data_ptr<int64_t>();
  const bool* v = valid.data_ptr<bool>();
  int64_t total_len = 0;
  for (int64_t i = 0; i < bank.num_entries; ++i) {
    s.length_histogram[static_cast<size_t>(len[i])] += 1;
    if (v[i]) {
      ++s.valid;
      total_len += len[i];
    }
    if (bank.token_counts[static_cast<size_t>(i)] > bank.entry_length) ++s.truncated;
  }
  s.invalid = s.num_entries - s.valid;
  s.mean_length = s.valid ? static_cast<double>(total_len) / static_cast<double>(s.valid) : 0.0;
  return s;
}

MemoryBank bank_from_config(const Config& config, const text::Tokenizer& tokenizer, bool* reused) {
  return load_or_build_bank(config.get_string("model.cache_path"), config.get_string("model.database_init_path"),
                            tokenizer, config.get_int("model.knowledge_num"), config.get_int("model.knowledge_length"),
                            config.get_bool("model.recompute_cache"), reused);
}

LocalBankReader make_bank_reader(const MemoryBank& bank) {
  return LocalBankReader(bank.tokens, bank.valid, bank.meta.pad_id);
}

}  // namespace elm::memory
