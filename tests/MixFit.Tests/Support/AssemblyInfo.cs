// Tests share libtorch's thread pool and the process-wide policy, and the leak test counts live tensors:
// run them one at a time so none of them measures another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
