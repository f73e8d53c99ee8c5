// Params: the defaults, reading, writing and per-field checks, generated from the one table of settings
// (params_table.hpp).
#include "precomp.hpp"
#include "params_fields.hpp"
#include "params_table.hpp"
#include <opencv2/dnn.hpp>

#include <cmath>
#include <limits>
#include <type_traits>

namespace cv {
namespace patchcore {

namespace {

typedef std::vector<String> Layers;

bool finite3(const Scalar& v) { return std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]); }
bool positive3(const Scalar& v) { return finite3(v) && v[0] > 0 && v[1] > 0 && v[2] > 0; }

enum FieldKind
{
    MODEL,
    RUN
};

// ---- writing
void writeField(FileStorage& fs, const char* name, const String& v) { fs << name << v; }
void writeField(FileStorage& fs, const char* name, const Layers& v) { fs << name << v; }
void writeField(FileStorage& fs, const char* name, int v) { fs << name << v; }
void writeField(FileStorage& fs, const char* name, double v) { fs << name << v; }
void writeField(FileStorage& fs, const char* name, bool v) { fs << name << static_cast<int>(v); }
void writeField(FileStorage& fs, const char* name, const Scalar& v)
{
    fs << name << std::vector<double>{v[0], v[1], v[2]};
}

// ---- reading: a missing field keeps its value; a present one must be exactly representable
[[noreturn]] void badField(const char* name, const std::string& what)
{
    PATCHCORE_ERROR(Error::StsParseError, std::string("parameter '") + name + "' " + what);
}

template <typename T>
void readNumber(const FileNode& n, const char* name, T& value)
{
    if (!n.isInt() && !n.isReal())
        badField(name, "must be a number");
    const double v = static_cast<double>(n);
    if (!std::isfinite(v))
        badField(name, "is not finite");
    // Converting a double outside T's range is undefined behaviour (found by fuzzing: "k: 3e12").
    if (std::is_integral<T>::value &&
        !(v >= static_cast<double>(std::numeric_limits<T>::lowest()) && v <= static_cast<double>(std::numeric_limits<T>::max())))
        badField(name, "= " + std::to_string(v) + " is out of range");
    // Truncating "k: 2.5" to 2 would run a detector other than the one the file describes.
    if (std::is_integral<T>::value && v != std::floor(v))
        badField(name, "= " + std::to_string(v) + " must be a whole number");
    value = static_cast<T>(v);
}

void readField(const FileNode& n, const char* name, int& v) { readNumber(n, name, v); }
void readField(const FileNode& n, const char* name, double& v) { readNumber(n, name, v); }
void readField(const FileNode& n, const char* name, bool& v)
{
    int i = 0;
    readNumber(n, name, i);
    v = i != 0;
}
void readField(const FileNode& n, const char* name, String& v)
{
    if (!n.isString())
        badField(name, "must be a string");
    v = static_cast<std::string>(n);
}
void readField(const FileNode& n, const char* name, Layers& v)
{
    if (!n.isSeq() && !n.isString())
        badField(name, "must be a list of names");
    Layers names;
    n >> names;
    v = names;
}
void readField(const FileNode& n, const char* name, Scalar& v)
{
    std::vector<double> c;
    n >> c;
    if (c.size() != 3)
        badField(name, "must hold 3 numbers (R, G, B)");
    v = Scalar(c[0], c[1], c[2]);
}

// ---- checking
std::string shown(int v) { return ", got " + std::to_string(v); }
std::string shown(double v) { return ", got " + cv::format("%g", v); }
template <typename T>
std::string shown(const T&)
{
    return std::string();
}

void require(bool ok, const std::string& what)
{
    if (!ok)
        PATCHCORE_ERROR(Error::StsBadArg, "invalid Params: " + what);
}

template <typename T>
bool finiteValue(const T&)
{
    return true;
}
bool finiteValue(double v) { return std::isfinite(v); }

template <typename T>
void check(const T& v, bool ok, const char* name, const char* rule)
{
    if (!ok || !finiteValue(v))
        require(false, std::string(name) + " " + rule + shown(v));
}

} // namespace

Params::Params()
{
#define PATCHCORE_DEFAULT(kind, type, name, pyName, value, ok, rule, doc) name = value;
    PATCHCORE_PARAM_FIELDS(PATCHCORE_DEFAULT)
#undef PATCHCORE_DEFAULT
}

void Params::write(FileStorage& fs) const
{
#define PATCHCORE_WRITE(kind, type, name, pyName, value, ok, rule, doc)                                                \
    if (kind == MODEL)                                                                                                 \
        writeField(fs, #name, name);
    PATCHCORE_PARAM_FIELDS(PATCHCORE_WRITE)
#undef PATCHCORE_WRITE
}

void Params::read(const FileNode& node)
{
    if (node.empty() || !node.isMap())
        PATCHCORE_ERROR(Error::StsParseError, "expected a map of Params fields");
    Params p = *this;
#define PATCHCORE_READ(kind, type, name, pyName, value, ok, rule, doc)                                                 \
    if (!node[#name].empty())                                                                                          \
        readField(node[#name], #name, p.name);
    PATCHCORE_PARAM_FIELDS(PATCHCORE_READ)
#undef PATCHCORE_READ
    p.validate();
    *this = p;
}

void Params::validate() const
{
#define PATCHCORE_CHECK_FIELD(kind, type, name, pyName, value, ok, rule, doc)                                          \
    {                                                                                                                  \
        const type& v = name;                                                                                          \
        check(v, ok, #name, rule);                                                                                     \
    }
    PATCHCORE_PARAM_FIELDS(PATCHCORE_CHECK_FIELD)
#undef PATCHCORE_CHECK_FIELD
    require(!layers.empty(), "layers is empty; name at least one backbone output (e.g. layer2, layer3)");
    for (const String& l : layers)
        require(!l.empty(), "layers holds an empty name");
    require(resizeSize >= cropSize, "resizeSize must be >= cropSize (" + std::to_string(cropSize) +
                                        ") and <= 16384, got " + std::to_string(resizeSize));
    require(coresetRandom != RANDOM_REFERENCE || seed >= 0,
            "coresetRandom RANDOM_REFERENCE draws like numpy, whose seeds are >= 0; got seed " + std::to_string(seed));
}

namespace detail {

void copyRunSettings(const Params& from, Params& to)
{
#define PATCHCORE_COPY_RUN(kind, type, name, pyName, value, ok, rule, doc)                                             \
    if (kind == RUN)                                                                                                   \
        to.name = from.name;
    PATCHCORE_PARAM_FIELDS(PATCHCORE_COPY_RUN)
#undef PATCHCORE_COPY_RUN
}

} // namespace detail

} // namespace patchcore
} // namespace cv
