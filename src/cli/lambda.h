// `headcount lambda`: the AWS Lambda custom runtime loop (one tick per
// invocation). Called by main.cc; runs on the main thread.
#pragma once

#include "cli/config.h"
#include "core/result.h"

namespace headcount {

// Serves invocations from the Runtime API at AWS_LAMBDA_RUNTIME_API until
// SIGTERM (exit 0). A bad `config` (or one whose pipeline cannot be built)
// is reported through /runtime/init/error and ends the process with exit 2
// (bad configuration) or 1 (anything else); so does a Runtime API that keeps
// failing.
int RunLambda(const Result<Config>& config);

}  // namespace headcount
