#pragma once
// libelm_sentencepiece.so (sentencepiece_shim/), loaded once with dlopen(RTLD_LOCAL | RTLD_DEEPBIND)
// so that sentencepiece's bundled protobuf never meets LibTorch's. Found through
// ELM_SENTENCEPIECE_SHIM (a path) when set, else next to the running executable (../lib), else at
// the path the build wrote it to. Failures are elm::Error naming the paths tried.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct elm_spm;

namespace elm::text {

// One loaded SentencePiece model (thread-safe to read).
class SentencePieceModel {
 public:
  static std::unique_ptr<SentencePieceModel> load(const std::string& path);  // error names the file
  ~SentencePieceModel();
  SentencePieceModel(const SentencePieceModel&) = delete;
  SentencePieceModel& operator=(const SentencePieceModel&) = delete;

  int piece_size() const;
  int piece_to_id(std::string_view piece) const;  // 0 (unk) for a string that is not a piece
  std::string id_to_piece(int id) const;          // id in [0, piece_size())
  bool is_unknown(int id) const;
  bool is_control(int id) const;
  // Pieces with their SentencePiece ids (unknown text: its surface string, id 0).
  std::vector<std::pair<std::string, int>> encode(std::string_view text) const;

 private:
  explicit SentencePieceModel(elm_spm* model) : model_(model) {}
  elm_spm* model_;
};

// SentencePieceTrainer::Train on sentences held in memory; returns the serialized ModelProto.
std::string train_sentencepiece(const std::vector<std::pair<std::string, std::string>>& options,
                                const std::vector<std::string>& sentences, std::uint32_t seed);

}  // namespace elm::text
