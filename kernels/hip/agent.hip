// RESERVED for the batched foraging agents' dense parts (issue #7), to be written once the CPU
// agent exists (another engineer is building it) so that the same test body can compare them:
//
//   - hidden -> readout for the whole batch: one launch over (agent, readout unit), each
//     thread summing its row of the dense readout matrix over the hidden spikes of its agent
//     in index order (the CPU's order, as snnk_propagate_dense does);
//   - the surrogate backward pass: per (agent, synapse) the surrogate derivative of the spike
//     at the stored membrane times the presynaptic trace, accumulated over the decision
//     window in time order;
//
// under the same rules as the other kernels: double state, no contraction, no warp-size
// assumption, one C-ABI entry per kernel declared in snnk.h and mirrored in kernels/src/ffi.rs.
#include "device.h"
