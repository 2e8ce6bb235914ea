#include "dist/sharded_bank_loader.h"

#include "memory/bank.h"

namespace elm::dist {

std::unique_ptr<ShardedBankReader> load_sharded_bank(Communicator& comm, const std::string& path,
                                                     BankSharding sharding) {
  const memory::BankInfo info = memory::read_bank_info(path);
  ShardLayout layout(info.num_entries, comm.size(), sharding);
  const int rank = comm.rank();
  const int64_t rows = layout.rows_of(rank);
  const int64_t first = rows == 0 ? 0 : layout.global_index(rank, 0);
  const int64_t stride = sharding == BankSharding::kBlock ? 1 : comm.size();
  memory::BankTable table = memory::read_bank_table(path, first, rows, stride);
  return std::make_unique<ShardedBankReader>(comm, layout, table.tokens, table.valid, info.entry_length,
                                             info.meta.pad_id);
}

}  // namespace elm::dist
