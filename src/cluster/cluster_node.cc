#include "cluster/cluster_node.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <utility>

#include "core/base64.h"
#include "crypto/hmac_sha256.h"

namespace headcount {
namespace {

constexpr std::string_view kFingerprintLabel = "headcount cluster session key fingerprint";

}  // namespace

std::string DefaultNodeName() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  return std::string(host.data()) + ":" + std::to_string(::getpid());
}

Status CheckClusterSessionKey(Redis& redis, const std::string& key_prefix,
                              const std::string& session_key) {
  const crypto::HmacSha256 mac(session_key);
  const std::string fingerprint = Base64UrlEncode(crypto::AsBytes(mac.Sign({kFingerprintLabel})));
  const std::string key = key_prefix + "session-key-fingerprint";
  const std::vector<RedisCommand> commands = {{"SET", key, fingerprint, "NX"}, {"GET", key}};
  Result<std::vector<RedisReply>> replies = redis.Run(commands);
  if (!replies.ok()) return replies.error();
  const RedisReply& stored = (*replies)[1];
  if (stored.is_error()) return Error::Rejected("Redis refused the key check: " + stored.text);
  if (stored.type == RedisReply::Type::kString && stored.text != fingerprint) {
    return Error::InvalidArgument(
        "this node's session key (origin.session_key_file) is not the one the other nodes of "
        "the cluster use: copy their key file to this node (or delete the key " +
        key +
        " in Redis when every node changed keys), else a viewer moving between nodes "
        "counts twice");
  }
  return {};
}

ClusterNode::ClusterNode(const ClusterNodeOptions& options)
    : key_prefix_(options.viewers.key_prefix),
      redis_(options.redis),
      viewers_(redis_, options.viewers),
      lease_(redis_, options.viewers.key_prefix, options.node_name) {}

std::unique_ptr<ClusterNode> ClusterNode::Start(const ClusterNodeOptions& options) {
  std::unique_ptr<ClusterNode> node(new ClusterNode(options));
  node->flusher_ = std::thread([n = node.get()] { n->FlushLoop(); });
  return node;
}

Status ClusterNode::CheckSessionKey(const std::string& session_key) {
  Status checked = CheckClusterSessionKey(redis_, key_prefix_, session_key);
  if (!checked.ok() && checked.error().code() == ErrorCode::kInvalidArgument) return checked;
  (void)health_.Record(checked);
  return {};
}

void ClusterNode::FlushLoop() {
  SystemClock clock;
  while (waiter_.WaitUntil(clock.Now() + kViewerFlushInterval)) {
    (void)health_.Record(viewers_.Flush());
  }
}

ClusterNode::~ClusterNode() {
  waiter_.Stop();
  if (flusher_.joinable()) flusher_.join();
  // What came since the last flush; a failure changes nothing now.
  (void)viewers_.Flush();
}

}  // namespace headcount
