// MixFit: TorchSharp's named-tensor entry points for a libtorch without named tensors (tools/torchsharp-compat,
// applied by tools/build-torchsharp-shim.sh when ATen/core/TensorBody.h has no Tensor::has_names). libtorch removed
// at::Dimname and the Tensor methods that took names; a tensor of such a libtorch never has names. So the queries
// answer as for an unnamed tensor in PyTorch (has_names false, no names), dropping names (rename(None), or names that
// are all wildcards) returns an alias or does nothing, and every call that would give a dimension a name fails with
// an error that TorchSharp raises as an exception, naming the libtorch version.
#include "THSTensor.h"
#include "torch/version.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace {

std::string removed(const char* what)
{
    return std::string("torch.Tensor.") + what + " needs named tensors, which libtorch " +
        std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH) +
        " (the one this TorchSharp shim was built against) no longer has: use positional dimensions instead";
}

// True when the names give no dimension a name: none given, or every one null or the wildcard "*".
bool all_wildcards(const char** names, int64_t length)
{
    if (names == nullptr) return true;
    for (int64_t i = 0; i < length; ++i) {
        if (names[i] != nullptr && std::strcmp(names[i], "*") != 0) return false;
    }
    return true;
}

// rename and refine_names: names that name nothing give an alias of the tensor; any real name is an error.
Tensor alias_if_unnamed(Tensor tensor, const char** names, int64_t nLength, const char* what)
{
    CATCH(
        if (!all_wildcards(names, nLength)) throw std::runtime_error(removed(what));
        return ResultTensor(tensor->alias());
    );
    return nullptr;
}

}  // namespace

bool THSTensor_has_names(Tensor tensor)
{
    (void)tensor;
    return false;
}

void THSTensor_names(Tensor tensor, const char** (*allocator)(size_t length))
{
    // As TorchSharp's own code does for a tensor without names: the allocator is not called.
    (void)tensor;
    (void)allocator;
}

Tensor THSTensor_rename(Tensor tensor, const char** names, int64_t nLength)
{
    return alias_if_unnamed(tensor, names, nLength, "rename");
}

void THSTensor_rename_(Tensor tensor, const char** names, int64_t nLength)
{
    CATCH(
        (void)tensor;
        if (!all_wildcards(names, nLength)) throw std::runtime_error(removed("rename_"));
    );
}

Tensor THSTensor_refine_names(Tensor tensor, const char** names, int64_t nLength)
{
    return alias_if_unnamed(tensor, names, nLength, "refine_names");
}

Tensor THSTensor_align_to(Tensor tensor, const char** names, int64_t nLength)
{
    CATCH(
        (void)tensor; (void)names; (void)nLength;
        throw std::runtime_error(removed("align_to"));
    );
    return nullptr;
}

Tensor THSTensor_flatten_names(Tensor tensor, const char** names, int64_t nLength)
{
    CATCH(
        (void)tensor; (void)names; (void)nLength;
        throw std::runtime_error(removed("flatten (with dimension names)"));
    );
    return nullptr;
}

Tensor THSTensor_unflatten_names(Tensor tensor, const char** names, const int64_t* sizes, int64_t nLength)
{
    CATCH(
        (void)tensor; (void)names; (void)sizes; (void)nLength;
        throw std::runtime_error(removed("unflatten (with dimension names)"));
    );
    return nullptr;
}
