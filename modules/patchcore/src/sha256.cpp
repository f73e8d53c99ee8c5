// SHA-256 (FIPS 180-4), written from the standard's pseudo-code.
#include "sha256.hpp"
#include "serialization.hpp"

#include <algorithm>
#include <cstring>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

const uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

} // namespace

Sha256::Sha256()
{
    static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::memcpy(h_, init, sizeof(h_));
}

void Sha256::update(const void* data, size_t size)
{
    const uint8_t* p = static_cast<const uint8_t*>(data); // may be null when size is 0
    totalBytes_ += size;
    while (size > 0)
    {
        if (bufferUsed_ == 0 && size >= 64) // whole blocks skip the copy into the buffer
        {
            compress(p);
            p += 64, size -= 64;
            continue;
        }
        size_t take = std::min(size, 64 - bufferUsed_);
        std::memcpy(buffer_ + bufferUsed_, p, take);
        bufferUsed_ += take, p += take, size -= take;
        if (bufferUsed_ == 64)
            compress(buffer_), bufferUsed_ = 0;
    }
}

std::array<uint8_t, 32> Sha256::finish()
{
    const uint64_t bitLength = totalBytes_ * 8;
    // Padding: a single 1 bit, zeros up to 56 mod 64, then the message length in bits, big endian.
    uint8_t pad[72] = {0x80};
    size_t padLength = (bufferUsed_ < 56 ? 56 : 120) - bufferUsed_;
    for (int i = 0; i < 8; i++)
        pad[padLength + i] = static_cast<uint8_t>(bitLength >> (56 - 8 * i));
    update(pad, padLength + 8);
    CV_DbgAssert(bufferUsed_ == 0);

    std::array<uint8_t, 32> digest;
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++)
            digest[4 * i + j] = static_cast<uint8_t>(h_[i] >> (24 - 8 * j));
    return digest;
}

void Sha256::compress(const uint8_t* block)
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t(block[4 * t]) << 24) | (uint32_t(block[4 * t + 1]) << 16) |
               (uint32_t(block[4 * t + 2]) << 8) | uint32_t(block[4 * t + 3]);
    for (int t = 16; t < 64; t++)
    {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (int t = 0; t < 64; t++)
    {
        uint32_t bigSigma1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t choose = (e & f) ^ (~e & g);
        uint32_t t1 = h + bigSigma1 + choose + kRoundConstants[t] + w[t];
        uint32_t bigSigma0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = bigSigma0 + majority;
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d;
    h_[4] += e; h_[5] += f; h_[6] += g; h_[7] += h;
}

std::string toHex(const std::array<uint8_t, 32>& digest)
{
    static const char digits[] = "0123456789abcdef";
    std::string out(64, '0');
    for (size_t i = 0; i < digest.size(); i++)
    {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 15];
    }
    return out;
}

std::array<uint8_t, 32> sha256(const void* data, size_t size)
{
    Sha256 hash;
    hash.update(data, size);
    return hash.finish();
}

std::string sha256Hex(const void* data, size_t size) { return toHex(sha256(data, size)); }

} // namespace detail
} // namespace patchcore
} // namespace cv
