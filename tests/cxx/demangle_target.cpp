// A C++ shared object for test_symbolize: a member function in a namespace records the
// return address of a call it makes, so the C test can check that the symbolizer names
// the frame "ns::Widget::grow(int)" (demangled) with the call's line.

namespace {

void *volatile g_return_address;
volatile unsigned g_call_line;

// noinline: the return address must lie inside grow, not inside an inlined copy.
__attribute__((noinline)) void *capture_return_address() {
    return __builtin_return_address(0);
}

} // namespace

namespace ns {

class Widget {
public:
    explicit Widget(int size) : size_(size) {}
    int grow(int by);

private:
    int size_;
};

__attribute__((noinline)) int Widget::grow(int by) {
    g_return_address = capture_return_address(); g_call_line = __LINE__;
    size_ += by;
    return size_;
}

} // namespace ns

// Runs ns::Widget::grow once and reports the return address recorded inside it and the
// line of that call. Returns the widget's new size (7) so the call cannot be dropped.
extern "C" __attribute__((visibility("default"))) int mg_cxx_probe(void **return_address,
                                                                   unsigned *line) {
    ns::Widget w(3);
    int size = w.grow(4);
    *return_address = g_return_address;
    *line = g_call_line;
    return size;
}
