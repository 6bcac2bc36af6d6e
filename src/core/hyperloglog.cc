#include "core/hyperloglog.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>

namespace headcount {
namespace {

constexpr std::uint8_t kFormatVersion = 1;
constexpr std::uint8_t kSparseEncoding = 0;
constexpr std::uint8_t kDenseEncoding = 1;
constexpr std::size_t kHeaderBytes = 3;
// Bits of the hash after the register index; a register holds the position
// of their first 1 bit (1..kRestBits), or kRestBits + 1 when all are 0.
constexpr int kRestBits = 64 - HyperLogLog::kPrecision;
constexpr std::uint8_t kMaxRegister = kRestBits + 1;

std::size_t RegisterOf(std::uint64_t hash) { return hash >> kRestBits; }

std::uint8_t RankOf(std::uint64_t hash) {
  const std::uint64_t rest = hash << HyperLogLog::kPrecision;  // low bits become zeros
  if (rest == 0) return kMaxRegister;
  return static_cast<std::uint8_t>(std::countl_zero(rest) + 1);
}

// Ertl's sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1), for x in [0, 1).
double Sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0;
  double z = x;
  for (;;) {
    x *= x;
    const double before = z;
    z += x * y;
    y += y;
    if (z == before) return z;
  }
}

// Ertl's tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3, for x in [0, 1].
double Tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0;
  double z = 1.0 - x;
  for (;;) {
    x = std::sqrt(x);
    const double before = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
    if (z == before) return z / 3.0;
  }
}

}  // namespace

void HyperLogLog::Add(std::uint64_t hash) {
  if (!sparse()) return AddToRegisters(hash);
  const auto at = std::lower_bound(sparse_.begin(), sparse_.end(), hash);
  if (at != sparse_.end() && *at == hash) return;
  sparse_.insert(at, hash);
  if (sparse_.size() > kMaxSparseHashes) Densify();
}

void HyperLogLog::AddToRegisters(std::uint64_t hash) {
  std::uint8_t& reg = registers_[RegisterOf(hash)];
  reg = std::max(reg, RankOf(hash));
}

void HyperLogLog::Densify() {
  registers_.assign(kRegisters, 0);
  for (const std::uint64_t hash : sparse_) AddToRegisters(hash);
  sparse_.clear();
  sparse_.shrink_to_fit();
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  if (other.sparse()) {
    if (sparse()) {
      std::vector<std::uint64_t> both;
      both.reserve(sparse_.size() + other.sparse_.size());
      std::set_union(sparse_.begin(), sparse_.end(), other.sparse_.begin(), other.sparse_.end(),
                     std::back_inserter(both));
      sparse_ = std::move(both);
      if (sparse_.size() > kMaxSparseHashes) Densify();
      return;
    }
    for (const std::uint64_t hash : other.sparse_) AddToRegisters(hash);
    return;
  }
  if (sparse()) Densify();
  for (std::size_t i = 0; i < kRegisters; ++i) {
    registers_[i] = std::max(registers_[i], other.registers_[i]);
  }
}

std::int64_t HyperLogLog::Estimate() const {
  if (sparse()) return static_cast<std::int64_t>(sparse_.size());
  std::array<int, kMaxRegister + 1> counts{};
  for (const std::uint8_t reg : registers_) ++counts[reg];
  const double m = static_cast<double>(kRegisters);
  double z = m * Tau(1.0 - counts[kMaxRegister] / m);
  for (int k = kRestBits; k >= 1; --k) z = 0.5 * (z + counts[k]);
  z += m * Sigma(counts[0] / m);
  const double alpha_infinity = 1.0 / (2.0 * std::log(2.0));
  return std::llround(alpha_infinity * m * m / z);
}

std::string HyperLogLog::Serialize() const {
  std::string out;
  out.reserve(kHeaderBytes + (sparse() ? 8 * sparse_.size() : kRegisters));
  out.push_back(static_cast<char>(kFormatVersion));
  out.push_back(static_cast<char>(kPrecision));
  out.push_back(static_cast<char>(sparse() ? kSparseEncoding : kDenseEncoding));
  if (!sparse()) {
    out.append(registers_.begin(), registers_.end());
    return out;
  }
  for (const std::uint64_t hash : sparse_) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(hash >> shift));
  }
  return out;
}

Result<HyperLogLog> HyperLogLog::Deserialize(std::string_view bytes) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
  if (bytes.size() < kHeaderBytes || byte(0) != kFormatVersion || byte(1) != kPrecision) {
    return Error::InvalidArgument("not a HyperLogLog sketch of version 1, precision 12");
  }
  const std::string_view body = bytes.substr(kHeaderBytes);
  HyperLogLog out;
  if (byte(2) == kDenseEncoding) {
    if (body.size() != kRegisters) return Error::InvalidArgument("a dense sketch of a wrong size");
    out.registers_.assign(body.begin(), body.end());
    if (std::ranges::any_of(out.registers_, [](std::uint8_t r) { return r > kMaxRegister; })) {
      return Error::InvalidArgument("a sketch register out of range");
    }
    return out;
  }
  if (byte(2) != kSparseEncoding || body.size() % 8 != 0 || body.size() / 8 > kMaxSparseHashes) {
    return Error::InvalidArgument("a sparse sketch of a wrong size");
  }
  out.sparse_.reserve(body.size() / 8);
  for (std::size_t i = 0; i < body.size(); i += 8) {
    std::uint64_t hash = 0;
    for (std::size_t j = 0; j < 8; ++j) hash = (hash << 8) | static_cast<std::uint8_t>(body[i + j]);
    if (!out.sparse_.empty() && hash <= out.sparse_.back()) {
      return Error::InvalidArgument("a sparse sketch's hashes out of order");
    }
    out.sparse_.push_back(hash);
  }
  return out;
}

}  // namespace headcount
