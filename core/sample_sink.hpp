#pragma once
// SampleSink: where bus workers hand over what they read. Must never block on the network.

#include "core/sample.hpp"

namespace kaa {

/// Receives samples and metadata from bus worker threads (thread-safe, non-blocking).
class SampleSink {
  public:
    virtual ~SampleSink() = default;
    /// One poll's sample of one meter.
    virtual void submit_sample(Sample sample) = 0;
    /// A meter's metadata keys (static plus decoded metadata registers).
    virtual void submit_metadata(MetadataUpdate update) = 0;
};

}  // namespace kaa
