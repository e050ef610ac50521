// Stand-ins for the few cxx types bindings/cpp/{port_sim,sim_common}.{h,cpp} use (rust::Str, Slice, Vec,
// String), so that the native benchmark harness compiles the bridge's own C++ unchanged, without
// Rust. build.sh installs this file as <include>/rust/cxx.h. Only what port_sim uses is here.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

namespace rust {
inline namespace cxxbridge1 {

class Str {
 public:
  Str() = default;
  Str(const char* s) : data_(s), size_(std::strlen(s)) {}  // NOLINT: implicit, as in cxx
  const char* data() const { return data_; }
  std::size_t size() const { return size_; }
  explicit operator std::string() const { return std::string(data_, size_); }

 private:
  const char* data_ = "";
  std::size_t size_ = 0;
};

template <typename T>
class Slice {
 public:
  Slice(T* data, std::size_t size) : data_(data), size_(size) {}
  T* begin() const { return data_; }
  T* end() const { return data_ + size_; }
  std::size_t size() const { return size_; }

 private:
  T* data_;
  std::size_t size_;
};

template <typename T>
class Vec : public std::vector<T> {};

class String : public std::string {
 public:
  explicit String(const std::string& s) : std::string(s) {}
};

}  // namespace cxxbridge1
}  // namespace rust
