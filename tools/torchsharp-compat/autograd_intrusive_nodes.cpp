// MixFit: TorchSharp's custom autograd Function nodes for a libtorch whose autograd nodes are held by
// c10::intrusive_ptr (tools/torchsharp-compat, applied by tools/build-torchsharp-shim.sh when
// torch/csrc/autograd/node.h declares Node an intrusive_ptr_target; seen in libtorch 2.14).
//
// TorchSharp's managed side keeps a CSharpNodePtr of two opaque pointers: an owning one, disposed once the node is in
// the graph, and a non-owning one it calls through until its node is deleted. They stay two heap pointers with the
// same meaning: an owning c10::intrusive_ptr and a c10::weak_intrusive_ptr, stored in the struct's two fields (whose
// declared std::shared_ptr/std::weak_ptr types only this file ever dereferences). The managed delete callback runs
// when the last owning reference goes (release_resources), as it did when the last shared_ptr went, or at the latest
// when the node is destroyed; never twice.
#include "THSAutograd.h"

#include "torch/torch.h"
#include "torch/csrc/autograd/custom_function.h"

#include <atomic>

namespace {

struct MixFitCSharpNode : CSharpNode {
    using CSharpNode::CSharpNode;

    std::atomic<bool> deleted{false};

    void notify_managed()
    {
        if (!deleted.exchange(true)) managedDeleteNode();
    }

    void release_resources() override
    {
        notify_managed();
        CSharpNode::release_resources();
    }

    ~MixFitCSharpNode() override { notify_managed(); }
};

using Owning = c10::intrusive_ptr<MixFitCSharpNode>;
using NonOwning = c10::weak_intrusive_ptr<MixFitCSharpNode>;

Owning* owning(const CSharpNodePtr& node) { return reinterpret_cast<Owning*>(node.shared_ptr); }
NonOwning* non_owning(const CSharpNodePtr& node) { return reinterpret_cast<NonOwning*>(node.weak_ptr); }

// The node while it is alive, or null (no node given, or already deleted).
c10::intrusive_ptr<torch::autograd::Node> alive(const CSharpNodePtr& node)
{
    NonOwning* weak = non_owning(node);
    if (weak == nullptr || weak->expired()) return {};
    return weak->lock();
}

}  // namespace

// Kept under its TorchSharp name: nothing calls it any more (deletion happens through the intrusive count).
void deleteNode(CSharpNode* node)
{
    node->managedDeleteNode();
}

CSharpNodePtr THSAutograd_CSharpNode_ctor(TensorArray(*applyFunc)(Tensor*, int size), void (*managedDeleteNode)())
{
    CATCH_RETURN_RES(CSharpNodePtr, CSharpNodePtr(),
        auto created = c10::make_intrusive<MixFitCSharpNode>(applyFunc, managedDeleteNode);
        res.weak_ptr = reinterpret_cast<std::weak_ptr<CSharpNode>*>(new NonOwning(created));
        res.shared_ptr = reinterpret_cast<std::shared_ptr<CSharpNode>*>(new Owning(std::move(created)));
    )
}

void THSAutograd_CSharpNode_disposeSharedPtr(CSharpNodePtr node)
{
    CATCH(
        delete owning(node);
    )
}

void THSAutograd_CSharpNode_disposeWeakPtr(CSharpNodePtr node)
{
    CATCH(
        delete non_owning(node);
    )
}

void THSAutograd_CSharpNode_setNextEdges(CSharpNodePtr node, TensorArray vars_, bool is_executable)
{
    CATCH(
        auto next_edges = is_executable ? torch::autograd::collect_next_edges(toTensors<at::Tensor>(vars_.array, vars_.size)) : torch::autograd::edge_list();
        non_owning(node)->lock()->set_next_edges(std::move(next_edges));
    )
}

void THSAutograd_CSharpNode_clearInputMetadata(CSharpNodePtr node)
{
    CATCH(
        non_owning(node)->lock()->clear_input_metadata();
    )
}

void THSAutograd_Function_wrapOutputs(TensorArray vars_, TensorArray nonDiff_, TensorArray dirty_, TensorArray outputs_, CSharpNodePtr node, Tensor* (*allocator)(size_t length))
{
    CATCH(
        auto vars = toTensors<at::Tensor>(vars_.array, vars_.size);
        auto output_tensors = toTensors<at::Tensor>(outputs_.array, outputs_.size);
        auto outputs = torch::autograd::to_optional(output_tensors);

        std::unordered_set<at::TensorImpl*> non_differentiable;
        non_differentiable.reserve(nonDiff_.size);
        for (int i = 0; i < nonDiff_.size; i++)
            non_differentiable.insert(nonDiff_.array[i]->unsafeGetTensorImpl());

        // What AutogradContext::get_and_bump_dirty does: the dirty inputs' versions move on.
        std::unordered_set<at::TensorImpl*> dirty;
        dirty.reserve(dirty_.size);
        for (int i = 0; i < dirty_.size; i++) {
            auto impl = dirty_.array[i]->unsafeGetTensorImpl();
            impl->bump_version();
            dirty.insert(impl);
        }

        torch::autograd::_jvp_fn_t jvp_fn = [](const variable_list&, const variable_list&) -> variable_list {
            TORCH_CHECK(false, "jvp is not implemented for TorchSharp's custom autograd Function");
        };
        auto view_as_self_fn = [](const at::Tensor& x) -> at::Tensor { return x.view_as(x); };

        c10::intrusive_ptr<torch::autograd::Node> attached;
        auto wrapped = torch::autograd::_wrap_outputs(vars, non_differentiable, dirty, outputs, alive(node), jvp_fn, {}, view_as_self_fn, false, attached);
        // libtorch fires its node-creation hooks once a node is attached (after the saved variables in its C++ API;
        // TorchSharp saves them after this call, so hooks see the node without them; none are registered by default).
        if (attached) torch::autograd::fire_node_creation_hooks(attached);

        Tensor* result = allocator(wrapped.size());
        for (size_t i = 0; i < wrapped.size(); i++)
            result[i] = wrapped[i].has_value() ? ResultTensor(wrapped[i].value()) : nullptr;
    )
}

SavedVariable THSAutograd_SavedVariable_ctor(Tensor variable, CSharpNodePtr node, bool is_inplace_on_view)
{
    CATCH_RETURN_RES(SavedVariable, nullptr,
        bool is_output = alive(node).get() == variable->grad_fn().get();
        res = new std::shared_ptr<torch::autograd::SavedVariable>(new torch::autograd::SavedVariable(*variable, is_output, is_inplace_on_view))
    );
}

Tensor THSAutograd_SavedVariable_unpack(SavedVariable saved_variable, CSharpNodePtr saved_for)
{
    CATCH_RETURN_Tensor(
        res = ResultTensor((*saved_variable)->unpack(alive(saved_for)));
    )
}
