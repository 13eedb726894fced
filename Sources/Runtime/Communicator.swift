import CKernelSupport

/// The processes of a data-parallel run (`mpirun -np P headway train --distributed`): Open MPI,
/// loaded at run time (`headway_collective.h`), so a run of one process needs no MPI library.
public enum Communicator {
  /// This process's rank and the number of ranks, after initialising MPI.
  public static func open() throws -> (rank: Int, ranks: Int) {
    var message = [CChar](repeating: 0, count: 512)
    guard hw_comm_open(&message, message.count) == 0 else {
      throw TrainingError(
        "--distributed: "
          + String(decoding: message.prefix { $0 != 0 }.map(UInt8.init), as: UTF8.self))
    }
    return (Int(hw_comm_rank()), Int(hw_comm_size()))
  }

  /// Finalises MPI (every rank, at the end of a run).
  public static func close() { hw_comm_close() }

}
