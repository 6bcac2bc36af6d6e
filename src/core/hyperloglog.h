// A HyperLogLog sketch of distinct 64-bit hashes (precision 12: 4096
// one-byte registers, a standard error of 1.04/sqrt(4096) = 1.6%), for the
// distinct viewers of an audience summary. Not thread-safe; a value type.
//
// While it holds at most kMaxSparseHashes distinct hashes it keeps them
// themselves (sparse), and its estimate is their exact count; past that it
// turns into the registers (dense) and estimates with Ertl's improved
// estimator ("New cardinality estimation algorithms for HyperLogLog
// sketches", 2017), which needs no bias tables and is as good as linear
// counting for small counts. Merge is the union of the sets (register-wise
// max when dense): commutative, associative and idempotent, so sketches of
// several nodes, or one sketch written twice, merge to the same sketch.
//
// Example:
//   HyperLogLog hll;
//   hll.Add(hash_of_viewer);
//   stored.Merge(hll);
//   stored.Estimate();
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace headcount {

class HyperLogLog {
 public:
  static constexpr int kPrecision = 12;
  static constexpr std::size_t kRegisters = std::size_t{1} << kPrecision;
  // The most hashes kept as such: 8 bytes each, at most the registers' 4 KiB.
  static constexpr std::size_t kMaxSparseHashes = kRegisters / 8;

  // Adds a hash; hashes must be uniform over 64 bits (a good hash function's).
  void Add(std::uint64_t hash);
  // Makes this the union of this and `other`.
  void Merge(const HyperLogLog& other);
  // The estimated number of distinct hashes added (exact while sparse).
  std::int64_t Estimate() const;

  bool empty() const { return registers_.empty() && sparse_.empty(); }
  bool sparse() const { return registers_.empty(); }

  // The sketch as bytes to store: a version byte, the precision, the
  // encoding (0 sparse, 1 dense), then the hashes (8 bytes big-endian each,
  // ascending) or the 4096 registers.
  std::string Serialize() const;
  // The sketch of Serialize's bytes; kInvalidArgument for bytes that are
  // not one (another version or precision, a wrong size, unsorted hashes,
  // a register out of range).
  static Result<HyperLogLog> Deserialize(std::string_view bytes);

  friend bool operator==(const HyperLogLog&, const HyperLogLog&) = default;

 private:
  // Turns the hashes into registers.
  void Densify();
  void AddToRegisters(std::uint64_t hash);

  std::vector<std::uint64_t> sparse_;    // sorted, unique; empty when dense
  std::vector<std::uint8_t> registers_;  // kRegisters of them when dense, else empty
};

}  // namespace headcount
