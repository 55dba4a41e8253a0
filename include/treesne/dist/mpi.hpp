// MPI for a distributed run (TREESNE_MPI builds): the process's MPI session and the Collective that the
// engine's layers use (core/collective.hpp). Only this part of treesne names MPI.
#pragma once
#include <memory>

#include "treesne/core/collective.hpp"

namespace treesne::dist {

/// Whether this process was started by an MPI launcher (mpirun, mpiexec, srun with PMI/PMIx): read from
/// the environment, before MPI is initialised, so that a plain start never initialises MPI.
bool launched_by_mpi();

/// MPI_Init on construction (threads funnelled: only the calling thread talks to MPI), MPI_Finalize on
/// destruction. One per process.
class MpiSession {
  public:
    MpiSession(int* argc, char*** argv);
    ~MpiSession();
    MpiSession(const MpiSession&) = delete;
    MpiSession& operator=(const MpiSession&) = delete;
    /// The processes of MPI_COMM_WORLD.
    Collective& world();
    /// Ends every process of the job at once with this exit code (after an error on one rank that the
    /// others cannot be told of: they would wait for it forever).
    [[noreturn]] static void abort(int code);

  private:
    std::unique_ptr<Collective> world_;
};

}  // namespace treesne::dist
