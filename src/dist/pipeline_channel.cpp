#include "dist/pipeline_channel.h"

#include "core/error.h"

namespace elm::dist {

namespace {
// Activation of micro-batch i: tag 2i; its gradient: 2i + 1.
int activation_tag(int microbatch) { return 2 * microbatch; }
int gradient_tag(int microbatch) { return 2 * microbatch + 1; }
}  // namespace

PipelineChannel::PipelineChannel(MpiCommunicator& pipeline, torch::Device device)
    : pipeline_(pipeline), device_(device) {}

// After finish() nothing is in flight; after an error, PendingSend's destructor does not block.
PipelineChannel::~PipelineChannel() = default;

void PipelineChannel::send(const torch::Tensor& t, int dst, int tag) {
  in_flight_.push_back(pipeline_.send_async(t.device().is_cpu() ? t : t.to(torch::kCPU), dst, tag));
}

torch::Tensor PipelineChannel::receive(at::IntArrayRef shape, torch::ScalarType dtype, int src, int tag) {
  torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
  pipeline_.recv(t, src, tag);
  return device_.is_cpu() ? t : t.to(device_);
}

void PipelineChannel::send_activation(const torch::Tensor& hidden, int microbatch) {
  ELM_CHECK(!last(), "pipeline: the last stage has no next stage to send activations to");
  send(hidden, stage() + 1, activation_tag(microbatch));
}

torch::Tensor PipelineChannel::receive_activation(at::IntArrayRef shape, torch::ScalarType dtype, int microbatch) {
  ELM_CHECK(!first(), "pipeline: the first stage receives no activations");
  return receive(shape, dtype, stage() - 1, activation_tag(microbatch));
}

void PipelineChannel::send_gradient(const torch::Tensor& grad, int microbatch) {
  ELM_CHECK(!first(), "pipeline: the first stage has no previous stage to send gradients to");
  send(grad, stage() - 1, gradient_tag(microbatch));
}

torch::Tensor PipelineChannel::receive_gradient(at::IntArrayRef shape, torch::ScalarType dtype, int microbatch) {
  ELM_CHECK(!last(), "pipeline: the last stage receives no gradients");
  return receive(shape, dtype, stage() + 1, gradient_tag(microbatch));
}

void PipelineChannel::finish() {
  for (auto& s : in_flight_) s->wait();
  in_flight_.clear();
}

}  // namespace elm::dist
