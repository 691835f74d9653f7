// Built without debug information (-g0): the symbolizer must fall back to the ELF symbol
// table, and demangle the C++ symbol name it finds there.

namespace {

void *volatile g_return_address;

__attribute__((noinline)) void *capture_return_address() {
    return __builtin_return_address(0);
}

} // namespace

namespace ns {

class Gadget {
public:
    long spin(long turns);

private:
    long turns_ = 0;
};

__attribute__((noinline)) long Gadget::spin(long turns) {
    g_return_address = capture_return_address();
    turns_ += turns;
    return turns_;
}

} // namespace ns

// Runs ns::Gadget::spin once and reports the return address recorded inside it.
extern "C" __attribute__((visibility("default"))) long mg_nodebug_probe(void **return_address) {
    ns::Gadget g;
    long turns = g.spin(5);
    *return_address = g_return_address;
    return turns;
}
