#pragma once
// Loads a sharded bank: each rank of a DP group reads only the entries it owns from the bank file
// (bank_sharding.h): one contiguous slab (block) or one strided hyperslab (cyclic) of the tokens
// and validity datasets. Texts stay in the file. Collective over the group (the reader checks that
// every rank agrees on N, L, pad id and sharding).
#include <memory>
#include <string>

#include "dist/bank_sharding.h"
#include "dist/communicator.h"
#include "dist/sharded_bank_reader.h"

namespace elm::dist {

std::unique_ptr<ShardedBankReader> load_sharded_bank(Communicator& comm, const std::string& path,
                                                     BankSharding sharding);

}  // namespace elm::dist
