// Plain values to and from the byte buffers of Collective (trivially copyable types only).
#pragma once
#include <cstring>
#include <type_traits>
#include <vector>

namespace treesne::dist {

/// Appends n values of p to bytes.
template <class T>
void put(std::vector<unsigned char>& bytes, const T* p, std::size_t n) {
    static_assert(std::is_trivially_copyable_v<T>);
    // insert, not resize and copy: the new bytes are not zeroed first (this is the inner loop of the
    // exchanges' packing).
    const auto* first = reinterpret_cast<const unsigned char*>(p);
    bytes.insert(bytes.end(), first, first + n * sizeof(T));
}

template <class T>
void put(std::vector<unsigned char>& bytes, const T& v) {
    put(bytes, &v, 1);
}

/// Reads values from a byte buffer, front to back.
class Reader {
  public:
    Reader(const unsigned char* data, std::size_t size) : data_(data), size_(size) {}
    explicit Reader(const std::vector<unsigned char>& bytes) : Reader(bytes.data(), bytes.size()) {}
    template <class T>
    T get() {
        T v;
        copy(&v, 1);
        return v;
    }
    template <class T>
    void copy(T* out, std::size_t n) {
        static_assert(std::is_trivially_copyable_v<T>);
        if (n > 0) std::memcpy(out, data_ + at_, n * sizeof(T));
        at_ += n * sizeof(T);
    }
    bool done() const { return at_ >= size_; }

  private:
    const unsigned char* data_;
    std::size_t size_;
    std::size_t at_ = 0;
};

}  // namespace treesne::dist
