#pragma once
// Broadcast of a string over a communicator: what one rank decides (a run directory, the
// checkpoint to resume from) becomes every rank's decision, so ranks never disagree because they
// looked at the file system at different moments.
#include <string>

#include "dist/communicator.h"

namespace elm::dist {

// Collective: returns root's `text` on every rank (the others' `text` is ignored).
std::string broadcast_string(Communicator& comm, const std::string& text, int root = 0);

}  // namespace elm::dist
