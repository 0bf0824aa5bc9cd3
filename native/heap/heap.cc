// berth-heap.node: the one V8 call berthd needs that Node does not expose. Node 20's gc() (with
// --expose-gc) is a full collection but not a memory-reducing one: it leaves the young
// generation as start-up grew it, the pages it freed pooled, and bytecode that ran once.
// Isolate::LowMemoryNotification() collects as V8's own memory reducer does some seconds after
// work stops (and, under Chrome, as a tab does when the system runs low): young generation shrunk,
// freed pages unmapped, unused bytecode flushed. It is synchronous: berthd calls it only when its
// event loop has been idle (src/daemon/idle-gc.ts).
#include <node.h>
#include <v8.h>

namespace {

void ReduceMemory(const v8::FunctionCallbackInfo<v8::Value>& args) {
  args.GetIsolate()->LowMemoryNotification();
}

}  // namespace

NODE_MODULE_INIT() {
  NODE_SET_METHOD(exports, "reduceMemory", ReduceMemory);
}
