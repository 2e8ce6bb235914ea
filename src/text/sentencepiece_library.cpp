#include "text/sentencepiece_library.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "core/error.h"
#include "text/sentencepiece_shim/sentencepiece_shim.h"

#ifndef ELM_SENTENCEPIECE_SHIM_BUILD_PATH
#define ELM_SENTENCEPIECE_SHIM_BUILD_PATH ""
#endif

namespace elm::text {
namespace {

namespace fs = std::filesystem;

struct Api {
  decltype(&elm_spm_load) load = nullptr;
  decltype(&elm_spm_free) free_model = nullptr;
  decltype(&elm_spm_piece_size) piece_size = nullptr;
  decltype(&elm_spm_piece_to_id) piece_to_id = nullptr;
  decltype(&elm_spm_id_to_piece) id_to_piece = nullptr;
  decltype(&elm_spm_is_unknown) is_unknown = nullptr;
  decltype(&elm_spm_is_control) is_control = nullptr;
  decltype(&elm_spm_encode) encode = nullptr;
  decltype(&elm_spm_train) train = nullptr;
  decltype(&elm_spm_free_string) free_string = nullptr;
};

std::vector<std::string> candidate_paths() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("ELM_SENTENCEPIECE_SHIM"); env != nullptr && *env != '\0') {
    out.push_back(env);
    return out;  // an explicit choice is the only one
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back((exe.parent_path().parent_path() / "lib" / "libelm_sentencepiece.so").string());
  if (*ELM_SENTENCEPIECE_SHIM_BUILD_PATH != '\0') out.push_back(ELM_SENTENCEPIECE_SHIM_BUILD_PATH);
  return out;
}

Api load_api() {
  std::string tried;
  void* handle = nullptr;
  for (const auto& path : candidate_paths()) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      tried += "\n  " + path + ": not found";
      continue;
    }
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (handle != nullptr) break;
    const char* why = dlerror();
    tried += "\n  " + path + ": " + (why != nullptr ? why : "dlopen failed");
  }
  ELM_CHECK(handle != nullptr, "cannot load libelm_sentencepiece.so (the SentencePiece tokenizer of XLM-R models; "
                               "set ELM_SENTENCEPIECE_SHIM to its path):", tried);
  Api api;
  auto get = [&](auto& slot, const char* name) {
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(dlsym(handle, name));
    ELM_CHECK(slot != nullptr, "libelm_sentencepiece.so lacks ", name);
  };
  get(api.load, "elm_spm_load");
  get(api.free_model, "elm_spm_free");
  get(api.piece_size, "elm_spm_piece_size");
  get(api.piece_to_id, "elm_spm_piece_to_id");
  get(api.id_to_piece, "elm_spm_id_to_piece");
  get(api.is_unknown, "elm_spm_is_unknown");
  get(api.is_control, "elm_spm_is_control");
  get(api.encode, "elm_spm_encode");
  get(api.train, "elm_spm_train");
  get(api.free_string, "elm_spm_free_string");
  return api;  // the library stays loaded for the life of the process
}

const Api& api() {
  // Never destroyed: tokenizers held in static objects are destroyed at exit, maybe after this
  // function's statics would be. std::call_once retries after a failed (throwing) load.
  static std::once_flag once;
  static const Api* loaded = nullptr;
  std::call_once(once, [] { loaded = new Api(load_api()); });
  return *loaded;
}

std::string take_error(char* error) {
  std::string s = error != nullptr ? error : "unknown error";
  if (error != nullptr) api().free_string(error);
  return s;
}

}  // namespace

std::unique_ptr<SentencePieceModel> SentencePieceModel::load(const std::string& path) {
  char* error = nullptr;
  elm_spm* model = api().load(path.c_str(), &error);
  ELM_CHECK(model != nullptr, "tokenizer ", path, ": not a SentencePiece model: ", take_error(error));
  return std::unique_ptr<SentencePieceModel>(new SentencePieceModel(model));
}

SentencePieceModel::~SentencePieceModel() { api().free_model(model_); }

int SentencePieceModel::piece_size() const { return api().piece_size(model_); }

int SentencePieceModel::piece_to_id(std::string_view piece) const {
  return api().piece_to_id(model_, piece.data(), piece.size());
}

std::string SentencePieceModel::id_to_piece(int id) const {
  ELM_CHECK(id >= 0 && id < piece_size(), "SentencePiece id ", id, " is outside [0, ", piece_size(), ")");
  std::size_t size = 0;
  const char* data = api().id_to_piece(model_, id, &size);
  return std::string(data, size);
}

bool SentencePieceModel::is_unknown(int id) const { return api().is_unknown(model_, id) != 0; }
bool SentencePieceModel::is_control(int id) const { return api().is_control(model_, id) != 0; }

std::vector<std::pair<std::string, int>> SentencePieceModel::encode(std::string_view text) const {
  std::vector<std::pair<std::string, int>> out;
  char* error = nullptr;
  auto emit = [](void* context, const char* piece, std::size_t size, int id) {
    static_cast<std::vector<std::pair<std::string, int>>*>(context)->emplace_back(std::string(piece, size), id);
  };
  const int rc = api().encode(model_, text.data(), text.size(), emit, &out, &error);
  ELM_CHECK(rc == 0, "SentencePiece encoding failed: ", take_error(error));
  return out;
}

std::string train_sentencepiece(const std::vector<std::pair<std::string, std::string>>& options,
                                const std::vector<std::string>& sentences, std::uint32_t seed) {
  std::vector<const char*> keys, values, lines;
  for (const auto& [k, v] : options) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  for (const auto& s : sentences) lines.push_back(s.c_str());
  char* bytes = nullptr;
  std::size_t size = 0;
  char* error = nullptr;
  const int rc = api().train(keys.data(), values.data(), keys.size(), lines.data(), lines.size(), seed, &bytes, &size,
                             &error);
  ELM_CHECK(rc == 0, "SentencePiece training failed: ", take_error(error));
  std::string model(bytes, size);
  api().free_string(bytes);
  return model;
}

}  // namespace elm::text
