"""Protobuf and gRPC C++ code generation with Debian's protoc and grpc_cpp_plugin.

Usage, in the package holding the .proto files:

    load("//tools/bazel:proto.bzl", "cc_proto_grpc_library")

    cc_proto_grpc_library(
        name = "control_cc",
        srcs = ["control.proto"],
        proto_deps = ["//api/common/v1:common_cc"],
        grpc = True,
    )

yields a cc_library `name` whose headers are `<file>.pb.h` (and
`<file>.grpc.pb.h` when grpc = True), included by workspace-relative path, for
example `#include "api/control/v1/control.pb.h"`. Imports between our protos use
workspace-relative paths too; Google's well-known types come from /usr/include.
"""

def cc_proto_grpc_library(name, srcs, proto_deps = [], grpc = False, visibility = None):
    """Generates C++ (and optionally gRPC) code for `srcs` and wraps it in a cc_library."""
    outs = []
    for src in srcs:
        if not src.endswith(".proto"):
            fail("cc_proto_grpc_library srcs must be .proto files: " + src)
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]

    # The .proto files of this library, for libraries that import them.
    native.filegroup(
        name = name + "_protos",
        srcs = srcs + [d + "_protos" for d in proto_deps],
        visibility = visibility,
    )

    tools = ["@system//:protoc"]
    cmd = "$(location @system//:protoc) --proto_path=. --proto_path=/usr/include --cpp_out=$(GENDIR)"
    if grpc:
        tools.append("@system//:grpc_cpp_plugin")
        cmd += (" --plugin=protoc-gen-grpc=$(location @system//:grpc_cpp_plugin)" +
                " --grpc_out=$(GENDIR)")
    cmd += " " + " ".join(["$(location %s)" % s for s in srcs])

    native.genrule(
        name = name + "_gen",
        srcs = srcs + [d + "_protos" for d in proto_deps],
        outs = outs,
        cmd = cmd,
        tools = tools,
    )

    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = proto_deps + (["@system//:grpc++"] if grpc else ["@system//:protobuf"]),
        visibility = visibility,
    )
