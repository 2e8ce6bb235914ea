#pragma once
// Serving a list of requests: split over the ranks of an MPI communicator, generated in rounds of
// `batch_size` requests per rank, results gathered on rank 0 in input order.
//
// Round k covers requests [k*R*b, (k+1)*R*b) of the R ranks; rank r takes the r-th block of b of
// them (a rank may get none in the last round but still takes part: every collective is reached by
// every rank, in the same order). With a dual path (dual_path.h) the auxiliary path reads each
// round's inputs while the round generates, and the bank updates of a round are exchanged and
// applied on every rank, in one order, before the next round starts.
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "infer/causal_lm.h"
#include "infer/generator.h"
#include "infer/requests.h"
#include "text/tokenizer.h"

namespace elm::infer {

// What runs beside generation, round by round (the dual path's auxiliary side, dual_path.h).
// serve() calls it on every rank in the same order: begin_round with this rank's requests before
// they generate, end_round after they have (collective over `comm`: the round's bank updates are
// exchanged and, when due, applied), ingest_of for each of this rank's responses, and after the
// last round finish (collective: whatever is still pending is applied).
class RoundParticipant {
 public:
  virtual ~RoundParticipant() = default;
  virtual void begin_round(int64_t round, const std::vector<const Request*>& mine) = 0;
  // Returns the round's report (the same on every rank).
  virtual nlohmann::json end_round(int64_t round, MPI_Comm comm) = 0;
  // What this rank's request `index` contributed in the round just ended (facts; null if none).
  virtual nlohmann::json ingest_of(int64_t index) const = 0;
  // Returns the report of what it applied (null when nothing was pending).
  virtual nlohmann::json finish(MPI_Comm comm) = 0;
};

struct Response {
  int64_t index = 0;
  std::string id;
  std::string text;  // decoded new tokens ("" without a tokenizer)
  std::vector<int64_t> tokens;
  std::string stop_reason;
  int64_t prompt_tokens = 0;
  int rank = 0;
  int64_t round = 0;
  double seconds = 0;     // the round's generation time (prefill + decode of its batch)
  nlohmann::json ingest;  // with a dual path: the facts this request's input gave (null otherwise)
  nlohmann::json to_json() const;
};

struct ServeOptions {
  int64_t batch_size = 8;   // requests per rank per round
  GenerateOptions generate;
  // Called on rank 0 with each response as soon as its round ends, in input order.
  std::function<void(const Response&)> on_response;
  // Called on every rank at the end of each round (after the bank updates), e.g. for logs.
  std::function<void(int64_t round, const nlohmann::json& round_report)> on_round;
};

struct ServeSummary {
  int64_t requests = 0, round_count = 0, new_tokens = 0;
  double seconds = 0;              // wall time of the whole serve call
  double generate_seconds = 0;     // this rank's time in generation
  nlohmann::json round_reports = nlohmann::json::array();  // with aux: each round's report (rank-identical)
  nlohmann::json final_report;  // with aux: what finish() applied
};

// Serves `requests` (the same list on every rank). comm MPI_COMM_NULL: this process alone.
// tokenizer (optional) decodes the text of the responses. aux (optional): the auxiliary path.
ServeSummary serve(CausalLM& lm, const std::vector<Request>& requests, const ServeOptions& options, MPI_Comm comm,
                   const text::Tokenizer* tokenizer, RoundParticipant* aux = nullptr);

// The requests rank `rank` of `ranks` generates in round `round` (indices into the list).
std::vector<int64_t> requests_of_round(int64_t total, int64_t round, int rank, int ranks, int64_t batch_size);
int64_t rounds_for(int64_t total, int ranks, int64_t batch_size);

}  // namespace elm::infer
