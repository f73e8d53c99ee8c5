// Files OpenCV 4.6's own parsers would crash on: ONNX models checked by onnx_check before cv::dnn, and FileStorage
// text checked by storage_text before cv::FileStorage. Hand-built protobufs give the exact cases; the inputs that
// crashed OpenCV under fuzzing (fuzz/corpus/*/upstream_*) must now end in a cv::Exception.
#include "test_precomp.hpp"
#include "onnx_check.hpp"
#include "storage_text.hpp"

#include <fstream>
#include <iterator>

namespace opencv_test {
namespace {

using cv::patchcore::detail::checkOnnxModel;
using cv::patchcore::detail::checkStorageText;

// A protobuf message built field by field (wire format: key varint, then the value).
struct Proto
{
    std::vector<uchar> bytes;

    void varint(uint64_t v)
    {
        do
        {
            bytes.push_back(static_cast<uchar>((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
            v >>= 7;
        } while (v);
    }
    Proto& num(uint32_t field, uint64_t v)
    {
        varint(field << 3);
        varint(v);
        return *this;
    }
    Proto& str(uint32_t field, const std::string& s)
    {
        varint((field << 3) | 2);
        varint(s.size());
        bytes.insert(bytes.end(), s.begin(), s.end());
        return *this;
    }
    Proto& msg(uint32_t field, const Proto& m) { return str(field, std::string(m.bytes.begin(), m.bytes.end())); }
};

Proto valueInfo(const std::string& name) { return Proto().str(1, name); }

Proto node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output)
{
    Proto n;
    for (const std::string& in : inputs)
        n.str(1, in);
    n.str(2, output).str(3, op + "_node").str(4, op);
    return n;
}

/** A float initializer with dims {count} and `stored` float values in raw_data. */
Proto floatTensor(const std::string& name, uint64_t count, size_t stored)
{
    return Proto().num(1, count).num(2, 1).str(8, name).str(9, std::string(stored * 4, '\0'));
}

/** x -> Add(x, w) -> y, w an initializer of 4 floats: the graphs below each break one rule. */
std::vector<uchar> model(const Proto& graph) { return Proto().num(1, 8).msg(7, graph).bytes; }

Proto goodGraph(const Proto& initializer = floatTensor("w", 4, 4), const std::string& reads = "w")
{
    return Proto()
        .msg(1, node("Add", {"x", reads}, "y"))
        .str(2, "g")
        .msg(5, initializer)
        .msg(11, valueInfo("x"))
        .msg(12, valueInfo("y"));
}

void expectRejected(const std::vector<uchar>& bytes, const std::string& needle)
{
    try
    {
        checkOnnxModel(bytes, "m.onnx");
        ADD_FAILURE() << "accepted; expected an error containing '" << needle << "'";
    }
    catch (const cv::Exception& e)
    {
        EXPECT_EQ(cv::Error::StsParseError, e.code);
        EXPECT_NE(std::string::npos, e.err.find("'m.onnx' is not a valid ONNX model")) << e.err;
        EXPECT_NE(std::string::npos, e.err.find(needle)) << e.err;
    }
}

TEST(Patchcore_UntrustedFiles, OnnxStructureIsChecked)
{
    EXPECT_NO_THROW(checkOnnxModel(model(goodGraph()), "m.onnx"));
    expectRejected(model(goodGraph(floatTensor("w", 4, 4), "v")), "reads 'v', which no graph input");
    expectRejected(model(goodGraph(floatTensor("w", 1000, 2))), "'w' declares 1000 values but holds 2");
    expectRejected(model(goodGraph(floatTensor("w", 1ull << 40, 0))), "more than 2^31 values");
    expectRejected(model(goodGraph(Proto().num(1, static_cast<uint64_t>(-3)).num(2, 1).str(8, "w"))),
                   "negative or absurd dimension");
    expectRejected(model(goodGraph(Proto().num(1, 4).num(2, 1).str(8, "w").num(14, 1))), "external file");
    expectRejected(model(goodGraph(Proto().num(1, 4).num(2, 8).str(8, "w"))), "data type 8");
    expectRejected(model(goodGraph().msg(15, Proto())), "sparse initializers");
    expectRejected(Proto().num(1, 8).bytes, "it has no graph");
    expectRejected(model(Proto().msg(11, valueInfo("x")).msg(12, valueInfo("x"))), "no nodes");
    expectRejected(model(Proto().msg(1, node("Relu", {"x"}, "y")).msg(11, valueInfo("x"))), "declares no outputs");
    expectRejected(model(Proto().msg(1, node("Relu", {"x"}, "y")).msg(11, valueInfo("x")).msg(12, valueInfo("z"))),
                   "graph output 'z' is produced by no node");
    // A node reading an output of a later node breaks ONNX's topological order.
    expectRejected(model(Proto()
                             .msg(1, node("Relu", {"t"}, "y"))
                             .msg(1, node("Relu", {"x"}, "t"))
                             .msg(11, valueInfo("x"))
                             .msg(12, valueInfo("y"))),
                   "reads 't'");
    // Truncation anywhere: the last byte, or the middle of a length-delimited field.
    std::vector<uchar> bytes = model(goodGraph());
    for (size_t cut : {bytes.size() - 1, bytes.size() / 2, size_t(3)})
        expectRejected(std::vector<uchar>(bytes.begin(), bytes.begin() + cut), "");
    // Values in the typed field of their type count like raw data; a mismatch of field and type does not.
    const Proto typed = Proto().num(1, 2).num(2, 1).str(8, "w").str(4, std::string(8, '\0')); // 2 packed floats
    EXPECT_NO_THROW(checkOnnxModel(model(goodGraph(typed)), "m.onnx"));
    expectRejected(model(goodGraph(Proto().num(1, 2).num(2, 7).str(8, "w").str(4, std::string(8, '\0')))),
                   "does not match its data type");
}

TEST(Patchcore_UntrustedFiles, ProjectModelsPassTheOnnxCheck)
{
    std::vector<std::string> files = {testDataPath("test_models/tiny_backbone.onnx"),
                                      testDataPath("test_models/tiny_rank2.onnx"),
                                      testDataPath("test_models/tiny_nonfinite.onnx")};
    for (const char* shared : {"models/resnet50v2_to_layer3.onnx", "models/squeezenet1.1.onnx"})
        if (dataExists(shared))
            files.push_back(dataPath(shared));
    for (const std::string& f : files)
    {
        std::ifstream in(f, std::ios::binary);
        const std::vector<uchar> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        ASSERT_FALSE(bytes.empty()) << f;
        EXPECT_NO_THROW(checkOnnxModel(bytes, f)) << f;
    }
}

std::vector<cv::String> corpusFiles(const std::string& target, const std::string& pattern)
{
    std::vector<cv::String> files;
    cv::glob(testDataPath("../modules/patchcore/fuzz/corpus/" + target + "/" + pattern), files);
    return files;
}

TEST(Patchcore_UntrustedFiles, ModelsThatCrashedOpenCvGiveErrors)
{
    const std::vector<cv::String> files = corpusFiles("onnx", "upstream_*.onnx");
    ASSERT_GE(files.size(), 13u);
    for (const cv::String& f : files)
    {
        cv::patchcore::Params p = tinyModelParams();
        p.modelPath = f;
        try
        {
            cv::patchcore::Detector::create(p);
            ADD_FAILURE() << f << " was accepted";
        }
        catch (const cv::Exception& e)
        {
            EXPECT_NE(std::string::npos, e.err.find("is not a valid ONNX model")) << f << ": " << e.err;
        }
    }
}

TEST(Patchcore_UntrustedFiles, StorageTextIsChecked)
{
    const std::string yaml = "%YAML:1.0\n---\nkey: 1\n";
    EXPECT_NO_THROW(checkStorageText(yaml.data(), yaml.size(), "y"));
    EXPECT_NO_THROW(checkStorageText(nullptr, 0, "empty")); // found by fuzzing: memchr must not see a null pointer
    const std::string xml = "<?xml version=\"1.0\"?>\n<opencv_storage>\n</opencv_storage>\n";
    EXPECT_NO_THROW(checkStorageText(xml.data(), xml.size(), "x"));
    const std::string json = "{\n  \"key\": 1\n}\n";
    EXPECT_NO_THROW(checkStorageText(json.data(), json.size(), "j"));
    std::string withNul = yaml;
    withNul[5] = '\0';
    EXPECT_THROW(checkStorageText(withNul.data(), withNul.size(), "y"), cv::Exception);
    for (const std::string bad : {std::string("<?xml version=\n\"1.0\"?>\n"), std::string("<?xml version=\"1\xff\"?>"),
                                  std::string("<?xml version=\"1.0\"")})
        EXPECT_THROW(checkStorageText(bad.data(), bad.size(), "x"), cv::Exception) << bad;
    // Attributes: '=' must be followed directly by the quoted value inside tags; elsewhere '=' is just text.
    const std::string attrs = xml + "<m type_id=\"opencv-matrix\" note='a=b'>x=y</m>\n<!-- a = b -->\n";
    EXPECT_NO_THROW(checkStorageText(attrs.data(), attrs.size(), "x"));
    for (const std::string bad : {xml + "<m type_id= \"opencv-matrix\"></m>", xml + "<m type_id=\r\r\"a\"></m>",
                                  xml + "<m a=", xml + "<!-- never closed"})
        EXPECT_THROW(checkStorageText(bad.data(), bad.size(), "x"), cv::Exception) << bad;
}

TEST(Patchcore_UntrustedFiles, DetectorFilesThatCrashedOpenCvGiveErrors)
{
    const std::vector<cv::String> files = corpusFiles("yaml", "upstream_*.yml");
    ASSERT_GE(files.size(), 8u);
    for (const cv::String& f : files)
    {
        try
        {
            cv::patchcore::Detector::load(f);
            ADD_FAILURE() << f << " was accepted";
        }
        catch (const cv::Exception& e)
        {
            EXPECT_NE(std::string::npos, e.err.find("invalid detector file")) << f << ": " << e.err;
        }
    }
}

} // namespace
} // namespace opencv_test
