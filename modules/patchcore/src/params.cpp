// Params: every setting declared once, in kParamFields below; defaults, reading, writing and the per-field checks
// are generated from that table.
#include "precomp.hpp"
#include "params_fields.hpp"
#include <opencv2/dnn.hpp>

#include <cmath>
#include <limits>
#include <type_traits>

namespace cv {
namespace patchcore {

namespace {

typedef std::vector<String> Layers;

bool finite(double v) { return std::isfinite(v); }

// X(kind, type, name, default, check on v, what the check requires). kind: MODEL fields define the detector and are
// saved and checked on load; RUN fields say how one process runs it and are never saved (detail::copyRunSettings).
// Checks that relate two fields follow in Params::validate().
#define PATCHCORE_PARAM_FIELDS(X)                                                                                     \
    X(MODEL, String, modelPath, String(), true, "")                                                                  \
    X(MODEL, Layers, layers, (Layers{"layer2", "layer3"}), true, "")                                                 \
    X(MODEL, int, resizeSize, 256, v <= 16384, "must be <= 16384")                                                   \
    X(MODEL, int, cropSize, 224, v >= 1 && v <= 8192, "must be in [1, 8192]")                                        \
    X(MODEL, int, resizeMethod, RESIZE_PIL_BILINEAR, v >= RESIZE_PIL_BILINEAR && v <= RESIZE_LINEAR,                  \
      "must be a cv::patchcore::ResizeMethod")                                                                       \
    X(MODEL, Scalar, mean, Scalar(0.485, 0.456, 0.406), finite(v[0]) && finite(v[1]) && finite(v[2]),                \
      "must be finite")                                                                                              \
    X(MODEL, Scalar, stdev, Scalar(0.229, 0.224, 0.225), v[0] > 0 && v[1] > 0 && v[2] > 0 && finite(v[0]) &&         \
      finite(v[1]) && finite(v[2]), "must be positive in every channel")                                             \
    X(MODEL, int, patchSize, 3, v >= 1 && v <= 15 && v % 2 == 1, "must be odd and in [1, 15]")                       \
    X(MODEL, int, pretrainEmbedDim, 1024, v >= 1 && v <= 65536, "must be in [1, 65536]")                             \
    X(MODEL, int, targetEmbedDim, 1024, v >= 1 && v <= 65536, "must be in [1, 65536]")                               \
    X(MODEL, int, coresetMethod, CORESET_GREEDY, v >= CORESET_GREEDY && v <= CORESET_NONE,                           \
      "must be a cv::patchcore::CoresetMethod")                                                                      \
    X(MODEL, double, coresetRatio, 0.1, v > 0 && v <= 1, "must be in (0, 1]")                                        \
    X(MODEL, int, projectionDim, 128, v >= 0, "must be >= 0 (0 = no projection)")                                    \
    X(MODEL, int, numStarts, 10, v >= 1, "must be >= 1")                                                             \
    X(MODEL, int, k, 1, v >= 1, "must be >= 1")                                                                      \
    X(MODEL, int, metric, DISTANCE_L2_SQUARED, v == DISTANCE_L2_SQUARED || v == DISTANCE_L2,                         \
      "must be a cv::patchcore::DistanceMetric")                                                                     \
    X(MODEL, bool, reweight, false, true, "")                                                                        \
    X(MODEL, int, reweightNeighbours, 9, v >= 1, "must be >= 1")                                                     \
    X(MODEL, double, sigma, 4.0, v >= 0 && v <= 1000, "must be in [0, 1000]")                                        \
    X(MODEL, int, seed, 0, true, "")                                                                                 \
    X(MODEL, int, coresetRandom, RANDOM_OPENCV, v == RANDOM_OPENCV || v == RANDOM_REFERENCE,                         \
      "must be a cv::patchcore::CoresetRandom")                                                                      \
    X(MODEL, int, referenceDrawsBefore, 0, v >= 0, "must be >= 0")                                                   \
    X(RUN, int, batchSize, 4, v >= 1 && v <= 1024, "must be in [1, 1024]")                                           \
    X(RUN, int, backend, dnn::DNN_BACKEND_OPENCV, true, "")                                                          \
    X(RUN, int, target, dnn::DNN_TARGET_CPU, true, "")                                                               \
    X(MODEL, bool, embedModel, true, true, "")                                                                       \
    X(MODEL, int, inputMode, INPUT_AUTO, v >= INPUT_CENTER_CROP && v <= INPUT_FRAME,                                 \
      "must be a cv::patchcore::InputMode")                                                                          \
    X(MODEL, double, tileScale, 1.0, v > 0 && v <= 16, "must be in (0, 16]")                                         \
    X(MODEL, double, tileOverlap, 0.25, v >= 0 && v <= 0.9, "must be in [0, 0.9]")                                   \
    X(RUN, int, coresetDevice, DEVICE_AUTO, v >= DEVICE_AUTO && v <= DEVICE_CUDA,                                    \
      "must be a cv::patchcore::ComputeDevice")                                                                      \
    X(RUN, int, searchDevice, DEVICE_AUTO, v >= DEVICE_AUTO && v <= DEVICE_CUDA,                                     \
      "must be a cv::patchcore::ComputeDevice")                                                                      \
    X(MODEL, int, searchMethod, SEARCH_AUTO, v == SEARCH_EXACT || v == SEARCH_APPROXIMATE || v == SEARCH_AUTO,       \
      "must be a cv::patchcore::SearchMethod (SEARCH_EXACT, SEARCH_APPROXIMATE or SEARCH_AUTO)")                     \
    X(MODEL, bool, bankFp16, false, true, "")                                                                        \
    X(RUN, double, memoryBudgetMB, 2048, v >= 0, "must be >= 0 (0 = no bound)")                                      \
    X(RUN, double, maxImageMB, 2048, v >= 0, "must be >= 0 (0 = only the memory this process may use)")              \
    X(MODEL, int, coresetMaxSize, -1, v >= -1, "must be -1 (automatic), 0 (no cap) or a positive bank size")         \
    X(MODEL, int, coresetChunkRows, -1, v == -1 || v == 0 || v >= 1024,                                              \
      "must be -1 (automatic), 0 (one selection over all vectors) or at least 1024")                                 \
    X(MODEL, double, calibrationFraction, 0.0, v >= 0 && v < 1, "must be in [0, 1)")                                 \
    X(MODEL, double, imageFalseAlarmRate, 0.01, v > 0 && v < 1, "must be in (0, 1)")                                 \
    X(MODEL, double, pixelFalseAlarmRate, 0.001, v > 0 && v < 1, "must be in (0, 1)")

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
    require(ok && finiteValue(v), std::string(name) + " " + rule + shown(v));
}

} // namespace

Params::Params()
{
#define PATCHCORE_DEFAULT(kind, type, name, value, ok, rule) name = value;
    PATCHCORE_PARAM_FIELDS(PATCHCORE_DEFAULT)
#undef PATCHCORE_DEFAULT
}

void Params::write(FileStorage& fs) const
{
#define PATCHCORE_WRITE(kind, type, name, value, ok, rule)                                                            \
    if (kind == MODEL)                                                                                               \
        writeField(fs, #name, name);
    PATCHCORE_PARAM_FIELDS(PATCHCORE_WRITE)
#undef PATCHCORE_WRITE
}

void Params::read(const FileNode& node)
{
    if (node.empty() || !node.isMap())
        PATCHCORE_ERROR(Error::StsParseError, "expected a map of Params fields");
    Params p = *this;
#define PATCHCORE_READ(kind, type, name, value, ok, rule)                                                             \
    if (!node[#name].empty())                                                                                        \
        readField(node[#name], #name, p.name);
    PATCHCORE_PARAM_FIELDS(PATCHCORE_READ)
#undef PATCHCORE_READ
    p.validate();
    *this = p;
}

void Params::validate() const
{
#define PATCHCORE_CHECK_FIELD(kind, type, name, value, ok, rule)                                                      \
    {                                                                                                                \
        const type& v = name;                                                                                        \
        check(v, ok, #name, rule);                                                                                   \
    }
    PATCHCORE_PARAM_FIELDS(PATCHCORE_CHECK_FIELD)
#undef PATCHCORE_CHECK_FIELD
    require(!layers.empty(), "layers is empty; name at least one backbone output (e.g. layer2, layer3)");
    for (const String& l : layers)
        require(!l.empty(), "layers holds an empty name");
    require(resizeSize >= cropSize, "resizeSize must be >= cropSize (" + std::to_string(cropSize) + ") and <= 16384, got " +
                                        std::to_string(resizeSize));
    require(coresetRandom != RANDOM_REFERENCE || seed >= 0,
            "coresetRandom RANDOM_REFERENCE draws like numpy, whose seeds are >= 0; got seed " + std::to_string(seed));
}

namespace detail {

void copyRunSettings(const Params& from, Params& to)
{
#define PATCHCORE_COPY_RUN(kind, type, name, value, ok, rule)                                                         \
    if (kind == RUN)                                                                                                 \
        to.name = from.name;
    PATCHCORE_PARAM_FIELDS(PATCHCORE_COPY_RUN)
#undef PATCHCORE_COPY_RUN
}

} // namespace detail

} // namespace patchcore
} // namespace cv
