// DetectorImpl: wires the stages together; one instance per trained model.
#ifndef OPENCV_PATCHCORE_DETECTOR_IMPL_HPP
#define OPENCV_PATCHCORE_DETECTOR_IMPL_HPP

#include "precomp.hpp"
#include "backbone.hpp"
#include "preprocess.hpp"
#include "bank_index.hpp"
#include "image_source.hpp"
#include "image_cost.hpp"
#include "care_mask.hpp"
#include "serialization.hpp"
#include "scoring.hpp"

#include <functional>
#include <limits>

namespace cv {
namespace patchcore {
namespace detail {

/** Version of the saved-file layout written by this library (FileStorage and binary alike). 2: run settings
 *  (Params' RUN fields) are no longer saved; format 1 files load, their run settings ignored. */
const int kFormatVersion = 2;
/** Name of the FileStorage node that holds a detector. */
const char* const kNodeName = "opencv_patchcore_Detector";

/** Everything that defines a trained detector apart from the backbone network itself. */
struct DetectorState
{
    Params params;
    std::vector<uchar> modelBytes; // the ONNX file's bytes
    std::string modelSha256;
    Mat bank;                      // memory bank, one CV_32F row per vector
    Size grid;                     // feature grid of one image
    double imageThreshold = std::numeric_limits<double>::quiet_NaN(); // decision thresholds (NaN: none)
    double pixelThreshold = std::numeric_limits<double>::quiet_NaN();
    CareMask care;                              // setCareMask(); empty: every pixel counts
    std::vector<double> labelThresholds = std::vector<double>(256, std::numeric_limits<double>::quiet_NaN());
    std::vector<double> labelFalseAlarmRates = std::vector<double>(256, std::numeric_limits<double>::quiet_NaN());
    DecisionRule rule;
};

/** The nearest fp16 values of a CV_32F bank, as CV_32F: what an fp16 detector searches, saves and reports. */
Mat roundToFp16(const Mat& bank);

class DetectorImpl CV_FINAL : public Detector
{
public:
    /** Validates `params`, reads and checksums the backbone, builds the network. */
    explicit DetectorImpl(const Params& params);
    /** Adopts a complete state (from a file); builds the network from its bytes. */
    explicit DetectorImpl(DetectorState state);

    void train(InputArrayOfArrays images) CV_OVERRIDE;
    void trainFiles(const std::vector<String>& files) CV_OVERRIDE;
    void update(InputArrayOfArrays images) CV_OVERRIDE;
    void calibrate(InputArrayOfArrays goodImages, double imageFalseAlarmRate, double pixelFalseAlarmRate) CV_OVERRIDE;
    double getImageThreshold() const CV_OVERRIDE { return state_.imageThreshold; }
    double getPixelThreshold() const CV_OVERRIDE { return state_.pixelThreshold; }
    void setThresholds(double imageThreshold, double pixelThreshold) CV_OVERRIDE;
    void setMaxImageMB(double maxImageMB) CV_OVERRIDE;
    bool detect(InputArray image, double& score, OutputArray defectMask) const CV_OVERRIDE;
    void setCareMask(InputArray mask, bool scaleToImage) CV_OVERRIDE;
    void clearCareMask() CV_OVERRIDE;
    Mat getCareMask() const CV_OVERRIDE { return state_.care.labels.clone(); }
    bool getCareMaskScales() const CV_OVERRIDE { return state_.care.scales; }
    void setLabelFalseAlarmRate(int label, double rate) CV_OVERRIDE;
    double getLabelThreshold(int label) const CV_OVERRIDE;
    void setLabelThreshold(int label, double threshold) CV_OVERRIDE;
    void setDecisionRule(const DecisionRule& rule) CV_OVERRIDE;
    DecisionRule getDecisionRule() const CV_OVERRIDE { return state_.rule; }
    double predictMasked(InputArray image, InputArray careMask, OutputArray anomalyMap) const CV_OVERRIDE;
    bool detectRegions(InputArray image, std::vector<Region>& regions, double& score, InputArray careMask,
                       OutputArray anomalyMap) const CV_OVERRIDE;
    double predict(InputArray image, OutputArray anomalyMap) const CV_OVERRIDE;
    void predictBatch(InputArrayOfArrays images, std::vector<double>& scores,
                      OutputArrayOfArrays anomalyMaps) const CV_OVERRIDE;
    double predictMap(InputArray image, OutputArray anomalyMap, int frame) const CV_OVERRIDE;
    void toWorkingFrame(InputArray image, OutputArray out) const CV_OVERRIDE;
    void computePatchScores(InputArray image, OutputArray patchScores) const CV_OVERRIDE;
    void computeEmbedding(InputArray image, OutputArray embedding) const CV_OVERRIDE;

    void save(const String& filename) const CV_OVERRIDE;
    void write(FileStorage& fs) const CV_OVERRIDE;
    void read(const FileNode& node) CV_OVERRIDE;

    Params getParams() const CV_OVERRIDE { return state_.params; }
    int getMemoryBankSize() const CV_OVERRIDE { return state_.bank.rows; }
    Mat getMemoryBank() const CV_OVERRIDE { return state_.bank.clone(); }
    Size getFeatureGridSize() const CV_OVERRIDE;
    void setProgressCallback(const ProgressCallback& callback) CV_OVERRIDE { progress_ = callback; }
    void setBackboneEngine(int engine) CV_OVERRIDE;
    /** The state save() writes (an ensemble serialises its members from it). */
    const DetectorState& state() const { return state_; }
    void requireTrained(const char* operation) const;
    void setRunSettings(const Params& run) CV_OVERRIDE;
    String getBackboneEngine() const CV_OVERRIDE { return backbone_->description(); }
    bool empty() const CV_OVERRIDE { return state_.bank.empty(); }
    void clear() CV_OVERRIDE;

private:
    struct WindowResult
    {
        Mat embedding; // grid.area() x dim
        Size grid;     // feature grid the embedding's rows cover
        Mat care;      // care labels of the grid's patches (CV_8U, grid-sized); empty: every patch counts
    };
    struct ImageResult
    {
        std::vector<WindowResult> windows; // one per geometry.windows entry
        CropGeometry geometry;
        Mat care;        // care labels in the image frame (CV_8U); empty: no care mask applies
        Mat workingCare; // the same in the working frame
    };
    typedef ImageScores Scores; // the scoring stage's result (scoring.hpp)

    void adopt(DetectorState state);
    bool report(const char* stage, int done, int total, const std::string& message = std::string()) const;
    /** What processing an image of `size` costs under `p` (which may be a training run's resolved Params). */
    ImageCost costOf(Size size, const Params& p) const;
    /** Refuses, before any work, the first image of `images` whose cost exceeds what Params::maxImageMB or the
     *  machine allows; returns the costs. */
    std::vector<ImageCost> checkCosts(const ImageSource& images, const Params& p, const char* operation) const;
    /** checkCosts() for one image of `size` (named `name`), also refusing a size the care mask does not fit. */
    ImageCost checkImage(Size size, const Params& p, const std::string& name, const char* operation) const;
    /** Pre-processing (under `p`: the detector's Params, or a training run's resolved ones), backbone and embedding
     *  for images [begin, end) of `images`, with their care labels (the detector's care mask, and
     *  `frameMasks`[i - begin] where given). */
    std::vector<ImageResult> extract(const std::vector<Mat>& images, size_t begin, size_t end, const Params& p,
                                     const std::vector<Mat>& frameMasks = std::vector<Mat>()) const;
    /** Patches of an image of `size` inside the detector's care mask (all its patches without one). */
    double carePatches(Size size, const Params& p) const;
    /** One image's score and map (`frame`: a MapFrame) with an optional per-frame care mask; `care` (optional)
     *  receives the image-frame care labels the scoring used (empty without a mask). */
    double scoreOne(const Mat& image, const Mat& frameMask, Mat* map, int frame, const char* operation,
                    Mat* care = nullptr) const;
    /** Extracts `images` Params::batchSize at a time, hands each batch's results to `body` with the index of its
     *  first image, and reports `stage` after every batch (and before the first, with `startMessage`, when given).
     *  A callback that returns false cancels with "<activity> cancelled by the progress callback". */
    void forEachBatch(const ImageSource& images, const Params& p, const char* stage, const char* activity,
                      const std::string& startMessage,
                      const std::function<void(size_t first, const std::vector<ImageResult>&)>& body) const;
    /** forEachBatch() at stage "backbone", one result at a time. The caller has checked the images' costs
     *  (checkCosts), as it needs them itself. */
    void embedInto(const ImageSource& images, const Params& p, const char* activity,
                   const std::function<void(const ImageResult&)>& sink) const;
    /** Checks the costs, then embeds every image's care patches into one matrix; `operation` names the caller in
     *  messages. */
    Mat embedAll(const ImageSource& images, const char* operation) const;
    /** train() and trainFiles(): the images come decoded or are decoded a batch at a time. */
    void trainFrom(const ImageSource& images);
    /** calibrate() on any image source (train() calibrates on its held-out images). */
    void calibrateFrom(const ImageSource& images, double imageFalseAlarmRate, double pixelFalseAlarmRate);
    /** Whether `rows` training vectors must go to disk to meet Params::memoryBudgetMB; throws, saying what would
     *  fit, when even that cannot meet it. */
    bool needsSpill(double rows, double imageRows, const Params& p) const;
    /** Every threshold back to NaN (uncalibrated): image, pixel and per label. */
    void forgetThresholds();
    /** Installs a new memory bank (checks k against its size). */
    void commitBank(const Mat& bank, Size grid);
    /** Patch scores of every window and the image score. */
    Scores score(const ImageResult& image) const;
    /** The smoothed anomaly map in the working frame (0 outside the care area). */
    Mat workingMap(const ImageResult& image, const Scores& scores) const;
    /** The map in the image frame (0 outside the care area). */
    Mat imageMap(const ImageResult& image, const Scores& scores) const;

    DetectorState state_;
    Ptr<Backbone> backbone_;
    std::shared_ptr<BankIndex> search_; // over state_.bank; null while untrained
    ProgressCallback progress_;
    int engine_ = ENGINE_AUTO; // setBackboneEngine(): a run-time choice, kept when read() adopts a new state
    // The input mode and tile scale as the caller set them: a training run resolves INPUT_AUTO from its images and
    // the resolved mode becomes part of the model (state_.params), so a retrained detector chooses again from here
    // instead of inheriting the last choice.
    int requestedInputMode_ = INPUT_AUTO;
    double requestedTileScale_ = 1.0;
};

/** The images of an InputArrayOfArrays, refusing a single Mat (which would otherwise be read as rows) and empty
 *  images; `operation` names the caller in messages. */
std::vector<Mat> collectImages(InputArrayOfArrays images, const char* operation);
/** The one non-empty image of an InputArray, refusing a list (which getMat() would reject with a bare assertion). */
Mat singleImage(InputArray image, const char* operation);

/** Serialisation of a DetectorState (detector_io.cpp). */
void writeState(FileStorage& fs, const DetectorState& state, bool withBank);
/** The care mask, per-label thresholds and false-alarm targets and the decision rule (inspection_io.cpp); absent
 *  from files saved before they existed, which read as no mask and the default rule. */
void writeInspection(FileStorage& fs, const DetectorState& state);
void readInspection(const FileNode& node, DetectorState& state);
/** `bankInNode`: the memory bank is part of `node` (FileStorage files) rather than a separate section (.pcb). */
DetectorState readState(const FileNode& node, bool bankInNode);
/** YAML/XML/JSON (optionally .gz), written so that a failed write never replaces the previous file. */
void saveText(const std::string& path, const DetectorState& state);
void saveBinary(const std::string& path, const DetectorState& state);
DetectorState loadBinary(const std::string& path);
/** A trained detector as .pcb bytes, and back (an ensemble's members): no temporary files. `folder`: where a
 *  member whose model is not embedded looks for it beside its saved path (the ensemble file's folder). */
std::vector<uchar> detectorBytes(const Detector& detector);
Ptr<Detector> detectorFromBytes(const std::vector<uchar>& bytes, const std::string& name, const std::string& folder);
/** A detector from the sections of a .pcb container already read (Inspector::load()). */
Ptr<Detector> detectorFromSections(Sections& sections, const std::string& name, const std::string& folder);
/** Finds and checks the backbone bytes of a state read from a file that did not embed them. */
void resolveModel(DetectorState& state, const std::string& loadFolder);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
