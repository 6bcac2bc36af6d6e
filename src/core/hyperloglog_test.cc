// Tests of the HyperLogLog sketch: exact while sparse, within three standard
// errors (3 x 1.04/sqrt(4096), 4.9%) from the switch to registers up to a
// million, merge as a union (commutative, idempotent), and the bytes a
// store keeps (round trip, and refusal of what is not a sketch).
#include "core/hyperloglog.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>

namespace headcount {
namespace {

constexpr double kThreeSigma = 3 * 1.04 / 64;

// A sketch of `count` random hashes (distinct with overwhelming odds).
HyperLogLog RandomSketch(std::int64_t count, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  HyperLogLog hll;
  for (std::int64_t i = 0; i < count; ++i) hll.Add(random());
  return hll;
}

TEST(HyperLogLogTest, EmptyIsZero) {
  const HyperLogLog hll;
  EXPECT_TRUE(hll.empty());
  EXPECT_EQ(hll.Estimate(), 0);
}

TEST(HyperLogLogTest, ExactWhileSparseAndRepeatsCountOnce) {
  std::mt19937_64 random(7);
  HyperLogLog hll;
  std::vector<std::uint64_t> hashes;
  for (int i = 0; i < 100; ++i) hashes.push_back(random());
  for (int round = 0; round < 3; ++round) {
    for (const std::uint64_t h : hashes) hll.Add(h);
  }
  EXPECT_TRUE(hll.sparse());
  EXPECT_EQ(hll.Estimate(), 100);
  const HyperLogLog full = RandomSketch(HyperLogLog::kMaxSparseHashes, 8);
  EXPECT_TRUE(full.sparse());
  EXPECT_EQ(full.Estimate(), static_cast<std::int64_t>(HyperLogLog::kMaxSparseHashes));
  EXPECT_FALSE(RandomSketch(HyperLogLog::kMaxSparseHashes + 1, 8).sparse());
}

TEST(HyperLogLogTest, WithinThreeStandardErrorsFromTheSwitchToAMillion) {
  for (const std::int64_t n : {600, 1000, 4000, 10'000, 100'000, 1'000'000}) {
    const int seeds = n >= 1'000'000 ? 1 : 5;
    for (int seed = 1; seed <= seeds; ++seed) {
      const std::int64_t estimate = RandomSketch(n, 1000 * n + seed).Estimate();
      const double error = std::abs(static_cast<double>(estimate - n)) / static_cast<double>(n);
      EXPECT_LE(error, kThreeSigma) << n << " hashes (seed " << seed << ") estimated " << estimate;
    }
  }
}

TEST(HyperLogLogTest, MergeIsTheUnionCommutativeAndIdempotent) {
  // 0..59'999 and 40'000..99'999 of one stream of hashes: 100'000 in all.
  std::mt19937_64 random(11);
  HyperLogLog a;
  HyperLogLog b;
  for (int i = 0; i < 100'000; ++i) {
    const std::uint64_t h = random();
    if (i < 60'000) a.Add(h);
    if (i >= 40'000) b.Add(h);
  }
  HyperLogLog ab = a;
  ab.Merge(b);
  HyperLogLog ba = b;
  ba.Merge(a);
  EXPECT_EQ(ab, ba);
  EXPECT_NEAR(static_cast<double>(ab.Estimate()), 100'000.0, 100'000 * kThreeSigma);
  HyperLogLog again = ab;
  again.Merge(b);
  again.Merge(ab);
  EXPECT_EQ(again, ab) << "merging what is in already changes nothing";
}

TEST(HyperLogLogTest, SparseMergesAreExactUntilTheyTurnDense) {
  HyperLogLog a = RandomSketch(300, 1);
  const HyperLogLog b = RandomSketch(200, 2);
  a.Merge(b);
  EXPECT_TRUE(a.sparse());
  EXPECT_EQ(a.Estimate(), 500);
  a.Merge(b);
  EXPECT_EQ(a.Estimate(), 500);
  // Past kMaxSparseHashes the union turns dense, the same as adding them all to one.
  const HyperLogLog c = RandomSketch(300, 3);
  a.Merge(c);
  EXPECT_FALSE(a.sparse());
  HyperLogLog one = RandomSketch(300, 1);
  for (const HyperLogLog* s : {&b, &c}) one.Merge(*s);
  EXPECT_EQ(a, one);
  EXPECT_NEAR(static_cast<double>(a.Estimate()), 800.0, 800 * kThreeSigma);
  // A sparse sketch merged into a dense one, and the other way round.
  HyperLogLog dense = RandomSketch(5000, 4);
  HyperLogLog small = RandomSketch(10, 5);
  HyperLogLog left = dense;
  left.Merge(small);
  small.Merge(dense);
  EXPECT_EQ(left, small);
}

TEST(HyperLogLogTest, BytesRoundTripSparseAndDense) {
  for (const std::int64_t n : {0, 1, 100, 5000}) {
    const HyperLogLog hll = RandomSketch(n, 21);
    const std::string bytes = hll.Serialize();
    EXPECT_LE(bytes.size(), 3 + HyperLogLog::kRegisters) << n;
    const auto back = HyperLogLog::Deserialize(bytes);
    ASSERT_TRUE(back.ok()) << back.error().ToString();
    EXPECT_EQ(*back, hll) << n;
  }
  EXPECT_EQ(RandomSketch(100, 1).Serialize().size(), 3U + 8 * 100) << "sparse: 8 bytes a hash";
}

TEST(HyperLogLogTest, RefusesBytesThatAreNotASketch) {
  const std::string dense = RandomSketch(5000, 1).Serialize();
  const std::string sparse = RandomSketch(3, 1).Serialize();
  EXPECT_FALSE(HyperLogLog::Deserialize("").ok());
  EXPECT_FALSE(HyperLogLog::Deserialize(dense.substr(0, dense.size() - 1)).ok());
  std::string other_precision = dense;
  other_precision[1] = 14;
  EXPECT_FALSE(HyperLogLog::Deserialize(other_precision).ok());
  std::string big_register = dense;
  big_register[10] = 60;
  EXPECT_FALSE(HyperLogLog::Deserialize(big_register).ok());
  EXPECT_FALSE(HyperLogLog::Deserialize(sparse.substr(0, sparse.size() - 1)).ok());
  std::string swapped =
      sparse.substr(0, 3) + sparse.substr(11, 8) + sparse.substr(3, 8) + sparse.substr(19);
  EXPECT_FALSE(HyperLogLog::Deserialize(swapped).ok()) << "hashes out of order";
}

}  // namespace
}  // namespace headcount
