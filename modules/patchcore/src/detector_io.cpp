// Saving and loading detectors: FileStorage (readable) and the binary container (fast, self-contained).
#include "detector_impl.hpp"
#include "serialization.hpp"
#include "storage_text.hpp"
#include "params_fields.hpp"

#include <cmath>
#include <cstring>
#include <functional>
#include <sys/stat.h>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

const uint32_t kBinaryFormatVersion = static_cast<uint32_t>(kFormatVersion);

bool endsWith(const std::string& s, const std::string& suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool pathExists(const std::string& path)
{
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

std::string baseName(const std::string& path)
{
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

/** The backbone's bytes; a folder or an empty file is named as such (both used to read as "not found"). */
std::vector<uchar> readModelBytes(const std::string& path)
{
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        PATCHCORE_ERROR(Error::StsBadArg, "the backbone path '" + path + "' is a folder; pass the .onnx file");
    std::vector<uchar> bytes = readFileBytes(path);
    if (bytes.empty())
        PATCHCORE_ERROR(Error::StsBadArg, "the backbone file '" + path +
                                              "' is empty (0 bytes); copy the "
                                              ".onnx file again");
    return bytes;
}

[[noreturn]] void badFile(const std::string& what)
{
    PATCHCORE_ERROR(Error::StsParseError, "invalid detector file: " + what);
}

void checkBank(const DetectorState& state)
{
    const Params& p = state.params;
    if (state.bank.empty())
        return;
    if (state.bank.type() != CV_32F || state.bank.dims != 2 || state.bank.cols != p.targetEmbedDim)
        badFile("the memory bank must be a CV_32F matrix with targetEmbedDim (" + std::to_string(p.targetEmbedDim) +
                ") columns");
    if (state.grid.width <= 0 || state.grid.height <= 0)
        badFile("the feature grid size is missing or not positive");
    if (p.k > state.bank.rows)
        badFile("k = " + std::to_string(p.k) + " exceeds the memory bank size " + std::to_string(state.bank.rows));
    if (!checkRange(state.bank))
        badFile("the memory bank holds NaN or infinite values");
}

} // namespace

void writeState(FileStorage& fs, const DetectorState& state, bool withBank)
{
    fs << "format_version" << kFormatVersion;
    fs << "params" << "{";
    state.params.write(fs);
    fs << "}";
    fs << "model_sha256" << state.modelSha256;
    fs << "model_size" << static_cast<double>(state.modelBytes.size());
    fs << "feature_grid" << state.grid;
    if (!std::isnan(state.imageThreshold))
        fs << "image_threshold" << state.imageThreshold << "pixel_threshold" << state.pixelThreshold;
    writeInspection(fs, state);
    fs << "bank_rows" << state.bank.rows;
    fs << "bank_cols" << state.bank.cols;
    if (withBank && !state.bank.empty())
        fs << "memory_bank" << state.bank;
}

DetectorState readState(const FileNode& node, bool bankInNode)
{
    if (node.empty() || !node.isMap())
        badFile("no detector node (expected '" + std::string(kNodeName) + "')");
    const FileNode version = node["format_version"];
    if (version.empty() || !version.isInt())
        badFile("format_version is missing");
    if (static_cast<int>(version) > kFormatVersion || static_cast<int>(version) < 1)
        PATCHCORE_ERROR(Error::StsParseError, "the detector file has format version " +
                                                  std::to_string(static_cast<int>(version)) + "; this library reads " +
                                                  "versions 1 to " + std::to_string(kFormatVersion) +
                                                  " (saved by a newer version of cv::patchcore?)");
    DetectorState state;
    state.params.read(node["params"]);
    // How a process runs the detector is not part of the model: a detector trained with DEVICE_CUDA on a
    // workstation must load on the line's CPU-only PC. Format 1 files still carry these settings; whatever a file
    // says, the loading process's settings apply (the defaults here; read() keeps the detector's own).
    copyRunSettings(Params(), state.params);
    if (!node["model_sha256"].isString())
        badFile("model_sha256 is missing");
    state.modelSha256 = static_cast<std::string>(node["model_sha256"]);
    if (!node["feature_grid"].empty())
        node["feature_grid"] >> state.grid;
    if (!node["image_threshold"].empty())
    {
        if (!node["image_threshold"].isReal() || !node["pixel_threshold"].isReal())
            badFile("image_threshold and pixel_threshold must both be numbers");
        state.imageThreshold = static_cast<double>(node["image_threshold"]);
        state.pixelThreshold = static_cast<double>(node["pixel_threshold"]);
    }
    readInspection(node, state);
    const FileNode rowsNode = node["bank_rows"], colsNode = node["bank_cols"];
    if (!rowsNode.isInt() || !colsNode.isInt() || static_cast<int>(rowsNode) < 0 || static_cast<int>(colsNode) < 0)
        badFile("bank_rows and bank_cols are missing or not whole numbers >= 0");
    const FileNode bank = node["memory_bank"];
    // A file cut before its bank would otherwise load as an untrained detector.
    if (bankInNode && bank.empty() && static_cast<int>(rowsNode) > 0)
        badFile("it declares a memory bank of " + std::to_string(static_cast<int>(rowsNode)) +
                " rows (bank_rows) but holds none: the file is truncated (an interrupted save?); save the "
                "detector again or restore it from a backup");
    if (!bank.empty())
    {
        // cv::read() of a Mat allocates rows x cols as declared before it reads the data (found by fuzzing: a
        // non-numeric 'cols' asked for 64 GB), so the declared shape is checked against the values first.
        const FileNode declaredRows = bank["rows"], declaredCols = bank["cols"], data = bank["data"];
        if (!bank.isMap() || !declaredRows.isInt() || !declaredCols.isInt() || !bank["dt"].isString() ||
            static_cast<std::string>(bank["dt"]) != "f" || !data.isSeq())
            badFile("memory_bank must be an opencv-matrix of 32-bit floats (dt: f)");
        if (static_cast<int>(declaredRows) < 0 || static_cast<int>(declaredCols) < 0 ||
            static_cast<double>(static_cast<int>(declaredRows)) * static_cast<int>(declaredCols) != static_cast<double>(data.size()))
            badFile("memory_bank declares " + std::to_string(static_cast<int>(declaredRows)) + " x " +
                    std::to_string(static_cast<int>(declaredCols)) + " values but holds " + std::to_string(data.size()));
        bank >> state.bank;
        const int rows = static_cast<int>(rowsNode), cols = static_cast<int>(colsNode);
        if (state.bank.rows != rows || state.bank.cols != cols)
            badFile("the memory bank's size does not match bank_rows x bank_cols");
    }
    return state;
}

void resolveModel(DetectorState& state, const std::string& loadFolder)
{
    if (state.modelBytes.empty())
    {
        // The model may have moved together with the detector file: look beside it before giving up.
        std::vector<std::string> candidates{state.params.modelPath};
        if (!loadFolder.empty())
            candidates.push_back(loadFolder + "/" + baseName(state.params.modelPath));
        for (const std::string& c : candidates)
        {
            if (!c.empty() && pathExists(c))
            {
                state.modelBytes = readModelBytes(c);
                state.params.modelPath = c;
                break;
            }
        }
        if (state.modelBytes.empty())
            PATCHCORE_ERROR(Error::StsObjectNotFound, "the detector's backbone '" + state.params.modelPath +
                                                          "' was not found (also looked in '" + loadFolder +
                                                          "'); copy it there or save the detector as .pcb, "
                                                          "which embeds the model");
    }
    const std::string actual = sha256Hex(state.modelBytes.data(), state.modelBytes.size());
    if (actual != state.modelSha256)
        PATCHCORE_ERROR(Error::StsBadArg, "the backbone '" + state.params.modelPath +
                                              "' is not the one the detector was trained with (SHA-256 " + actual +
                                              ", expected " + state.modelSha256 + ")");
    checkBank(state);
}

void saveText(const std::string& path, const DetectorState& state)
{
    const auto writeDetector = [&](FileStorage& fs) {
        fs << kNodeName << "{";
        writeState(fs, state, true);
        fs << "}";
    };
    if (!endsWith(path, ".gz"))
    {
        // FileStorage does not report failed writes (a full disk left a cut file behind it, reported as saved):
        // the text is built in memory and written through the checked path.
        const size_t dot = path.find_last_of('.'), slash = path.find_last_of('/');
        const std::string ext = dot == std::string::npos || (slash != std::string::npos && dot < slash)
                                    ? std::string(".xml") // what FileStorage picks for a name without extension
                                    : path.substr(dot);
        FileStorage fs(ext, FileStorage::WRITE | FileStorage::MEMORY);
        writeDetector(fs);
        const std::string text = fs.releaseAndGetString();
        writeBytesAtomically(path, text.data(), text.size());
        return;
    }
    // FileStorage cannot compress into memory: it writes the file, and reading it back is what shows it complete.
    writeFileAtomically(
        path,
        [&](const std::string& tmpPath) {
            FileStorage fs(tmpPath, FileStorage::WRITE);
            if (!fs.isOpened())
                PATCHCORE_ERROR(Error::StsError, "cannot write '" + tmpPath + "'");
            writeDetector(fs);
            fs.release();
        },
        [&](const std::string& tmpPath) {
            bool complete = false;
            try
            {
                FileStorage fs(tmpPath, FileStorage::READ);
                const DetectorState back = readState(fs[kNodeName], true);
                complete = back.bank.rows == state.bank.rows && back.bank.cols == state.bank.cols;
            }
            catch (const std::exception&) // cv::Exception included: any failure to read back means incomplete
            {
            }
            if (!complete)
                PATCHCORE_ERROR(Error::StsError,
                                "cannot save '" + path +
                                    "': the compressed file did not read "
                                    "back complete (is the disk full?); the previous file is unchanged");
        });
}

namespace {

/** The sections of a .pcb file: header (FileStorage text), bank (little-endian floats), model (when embedded). */
Sections binarySections(const DetectorState& state)
{
    FileStorage fs(".yml", FileStorage::WRITE | FileStorage::MEMORY);
    fs << kNodeName << "{";
    writeState(fs, state, false);
    fs << "}";
    const std::string header = fs.releaseAndGetString();
    Sections sections;
    sections["header"] = std::vector<uchar>(header.begin(), header.end());
    std::vector<uchar>& bank = sections["bank"];
    bank.resize(state.bank.total() * sizeof(float));
    for (int r = 0; r < state.bank.rows; ++r)
    {
        const float* row = state.bank.ptr<float>(r);
        for (int c = 0; c < state.bank.cols; ++c)
        {
            uint32_t bits;
            std::memcpy(&bits, row + c, sizeof(bits));
            uchar* out = bank.data() + (static_cast<size_t>(r) * state.bank.cols + c) * 4;
            for (int b = 0; b < 4; ++b)
                out[b] = static_cast<uchar>(bits >> (8 * b)); // little endian on every host
        }
    }
    if (state.params.embedModel)
        sections["model"] = state.modelBytes;
    return sections;
}

/** Opens FileStorage text (`inMemory`) or a file for reading. OpenCV parses the whole document here, so every
 *  failure of this step is the file's (`what` names it in the message). */
FileStorage openStorage(const std::string& source, bool inMemory, const std::string& what)
{
    FileStorage fs;
    try
    {
        fs.open(source, FileStorage::READ | (inMemory ? static_cast<int>(FileStorage::MEMORY) : 0));
    }
    catch (const cv::Exception& e)
    {
        badFile(what + " cannot be parsed: " + e.err);
    }
    catch (const std::exception& e) // e.g. std::length_error on a key-less line (found by fuzzing)
    {
        badFile(what + " cannot be parsed: " + e.what());
    }
    if (!fs.isOpened())
        badFile(what + " is not readable YAML/XML/JSON (nor a .pcb container)");
    return fs;
}

/** Reads a parsed document's nodes: our own verdicts on the content pass as they are; anything else that fails
 *  (OpenCV's accessors on an odd node) is named as the file's. */
void readContent(const std::string& what, const std::function<void()>& read)
{
    try
    {
        read();
    }
    catch (const cv::Exception& e)
    {
        if (isUserFacing(e))
            throw;
        badFile(what + " cannot be read: " + e.err);
    }
    catch (const std::exception& e)
    {
        badFile(what + " cannot be read: " + e.what());
    }
}

/** What binarySections() wrote; `path` names the file (or the ensemble member) in messages. */
DetectorState stateFromSections(Sections& sections, const std::string& path)
{
    if (!sections.count("header") || !sections.count("bank"))
        badFile("'" + path + "' lacks its header or memory-bank section");
    const std::vector<uchar>& headerBytes = sections["header"];
    checkStorageText(reinterpret_cast<const char*>(headerBytes.data()), headerBytes.size(),
                     "the header of '" + path + "'");
    const std::string what = "the header of '" + path + "'";
    const FileStorage fs = openStorage(std::string(headerBytes.begin(), headerBytes.end()), true, what);
    DetectorState state;
    int rows = 0, cols = 0;
    readContent(what, [&] {
        state = readState(fs[kNodeName], false);
        rows = static_cast<int>(fs[kNodeName]["bank_rows"]);
        cols = static_cast<int>(fs[kNodeName]["bank_cols"]);
    });
    const std::vector<uchar>& bank = sections["bank"];
    if (rows < 0 || cols < 0 || static_cast<double>(rows) * cols * 4 != static_cast<double>(bank.size()))
        badFile("'" + path + "' has a memory bank of the wrong size");
    if (rows > 0)
    {
        state.bank.create(rows, cols, CV_32F);
        for (size_t i = 0; i < state.bank.total(); ++i)
        {
            const uchar* in = bank.data() + i * 4;
            const uint32_t bits = static_cast<uint32_t>(in[0]) | (static_cast<uint32_t>(in[1]) << 8) |
                                  (static_cast<uint32_t>(in[2]) << 16) | (static_cast<uint32_t>(in[3]) << 24);
            std::memcpy(state.bank.ptr<float>() + i, &bits, sizeof(bits));
        }
    }
    if (sections.count("model"))
        state.modelBytes = std::move(sections["model"]);
    return state;
}

} // namespace

void saveBinary(const std::string& path, const DetectorState& state)
{
    writeContainer(path, kBinaryFormatVersion, binarySections(state));
}

DetectorState loadBinary(const std::string& path)
{
    Sections sections = readContainer(path, kBinaryFormatVersion, nullptr);
    return stateFromSections(sections, path);
}

std::vector<uchar> detectorBytes(const Detector& detector)
{
    const DetectorImpl* impl = dynamic_cast<const DetectorImpl*>(&detector);
    CV_Assert(impl);
    impl->requireTrained("save()");
    return containerBytes(kBinaryFormatVersion, binarySections(impl->state()));
}

Ptr<Detector> detectorFromSections(Sections& sections, const std::string& name, const std::string& folder)
{
    DetectorState state = stateFromSections(sections, name);
    resolveModel(state, folder);
    return makePtr<DetectorImpl>(std::move(state));
}

Ptr<Detector> detectorFromBytes(const std::vector<uchar>& bytes, const std::string& name, const std::string& folder)
{
    Sections sections = parseContainer(bytes, name, kBinaryFormatVersion, nullptr);
    return detectorFromSections(sections, name, folder);
}

void DetectorImpl::write(FileStorage& fs) const
{
    writeState(fs, state_, true);
}

void DetectorImpl::read(const FileNode& node)
{
    DetectorState state;
    try
    {
        state = readState(node, true);
    }
    catch (const cv::Exception& e)
    {
        if (isUserFacing(e))
            throw;
        badFile(e.err);
    }
    catch (const std::exception& e)
    {
        badFile(e.what());
    }
    copyRunSettings(state_.params, state.params);
    // A FileNode does not say which file it came from: the backbone is looked for at its saved path only.
    resolveModel(state, std::string());
    adopt(std::move(state));
}

void DetectorImpl::save(const String& filename) const
{
    if (filename.empty())
        PATCHCORE_ERROR(Error::StsBadArg, "save() needs a file name");
    // An untrained detector's file would hold only settings (and a copy of the model) and load as a detector that
    // cannot predict: refused, so that a file on disk always means a usable detector.
    requireTrained("save()");
    if (endsWith(filename, ".pcb"))
    {
        saveBinary(filename, state_);
        return;
    }
    saveText(filename, state_);
}

} // namespace detail

Ptr<Detector> Detector::load(const String& filename, const String& modelPath)
{
    using namespace detail;
    if (filename.empty())
        PATCHCORE_ERROR(Error::StsBadArg, "load() needs a file name");
    struct stat st;
    if (::stat(filename.c_str(), &st) != 0)
        PATCHCORE_ERROR(Error::StsObjectNotFound, "detector file '" + filename + "' does not exist; check the path");
    if (S_ISDIR(st.st_mode))
        PATCHCORE_ERROR(Error::StsBadArg, "'" + filename +
                                              "' is a folder; pass the path of a saved detector "
                                              "file (.pcb, .yml, .yml.gz, .xml or .json)");
    if (!S_ISREG(st.st_mode))
        PATCHCORE_ERROR(Error::StsBadArg, "'" + filename + "' is not a regular file; pass a saved detector file");
    if (st.st_size == 0)
        PATCHCORE_ERROR(Error::StsParseError,
                        "invalid detector file: '" + filename +
                            "' is empty (0 bytes), "
                            "probably left by an interrupted save or a full disk; save the detector "
                            "again or restore it from a backup");
    DetectorState state;
    if (isContainerFile(filename))
    {
        state = loadBinary(filename);
    }
    else
    {
        // Plain text is read once, checked, and parsed from memory. Compressed files reach the parser unchecked:
        // checking them would mean decompressing them here.
        std::string text;
        if (!endsWith(filename, ".gz"))
        {
            const std::vector<uchar> bytes = readFileBytes(filename);
            checkStorageText(reinterpret_cast<const char*>(bytes.data()), bytes.size(), "'" + filename + "'");
            text.assign(bytes.begin(), bytes.end());
        }
        const FileStorage fs = openStorage(text.empty() ? filename : text, !text.empty(), "'" + filename + "'");
        readContent("'" + filename + "'", [&] { state = readState(fs[kNodeName], true); });
    }
    if (!modelPath.empty())
    {
        state.modelBytes = readModelBytes(modelPath);
        state.params.modelPath = modelPath;
    }
    resolveModel(state, parentFolder(filename));
    return makePtr<DetectorImpl>(std::move(state));
}

} // namespace patchcore
} // namespace cv
