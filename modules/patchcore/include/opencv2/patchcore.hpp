// This file is part of the cv::patchcore module.
#ifndef OPENCV_PATCHCORE_HPP
#define OPENCV_PATCHCORE_HPP

#include <opencv2/core.hpp>
#include <opencv2/patchcore/regions.hpp>

#include <functional>

/**
@defgroup patchcore PatchCore industrial anomaly detection

Implementation of PatchCore (Roth et al., "Towards Total Recall in Industrial Anomaly Detection", CVPR 2022).
A Detector is trained on images of good parts only: an ImageNet CNN (run through cv::dnn) describes every
image location by a locally aware patch vector, a greedy coreset of all training vectors forms the memory bank,
and at inspection time the distance of each patch to its nearest bank vector is its anomaly score. The image
score is the largest patch score; the anomaly map is the patch-score grid, upsampled and smoothed, returned in the
input image's own coordinates.

Threading model: `train`, `read`, `clear` and setters modify the detector and must not run concurrently with
anything else on the same object. `predict` is const and may be called from several threads on one trained
detector; results do not depend on how calls are interleaved.
*/

namespace cv {
namespace patchcore {

//! @addtogroup patchcore
//! @{

/** @brief How the memory bank is subsampled after training. */
enum CoresetMethod
{
    CORESET_GREEDY = 0, //!< approximate greedy k-centre selection in a random projection (the paper's method)
    CORESET_RANDOM = 1, //!< uniform random subset of the same size
    CORESET_NONE = 2    //!< keep every training patch vector
};

/** @brief Random generator behind the greedy coreset's projection and start points. */
enum CoresetRandom
{
    RANDOM_OPENCV = 0,   //!< cv::RNG seeded with Params::seed
    RANDOM_REFERENCE = 1 //!< the authors' implementation's torch / numpy draws, to select its very coreset
                         //!< (doc/PARITY.md); needs seed >= 0
};

/** @brief Distance used for patch scores. */
enum DistanceMetric
{
    DISTANCE_L2_SQUARED = 0, //!< squared Euclidean distance, as the authors' implementation reports
    DISTANCE_L2 = 1          //!< Euclidean distance, as the paper writes it
};

/** @brief Image resampling used when pre-processing shrinks or enlarges an image. */
enum ResizeMethod
{
    RESIZE_PIL_BILINEAR = 0, //!< antialiased bilinear with PIL's arithmetic (what the reference pipeline uses)
    RESIZE_AREA = 1,         //!< cv::INTER_AREA when shrinking, cv::INTER_LINEAR when enlarging
    RESIZE_LINEAR = 2        //!< cv::INTER_LINEAR, no antialiasing
};

/** @brief Where a stage runs. */
enum ComputeDevice
{
    DEVICE_AUTO = 0, //!< CUDA when the library was built with it and a device is present, otherwise the CPU
    DEVICE_CPU = 1,  //!< always the CPU (Eigen + oneTBB)
    DEVICE_CUDA = 2  //!< CUDA; an error if the library was built without it or no device is present
};

/** @brief Nearest-neighbour search used for patch scores. */
enum SearchMethod
{
    SEARCH_EXACT = 0,       //!< exact search (GEMM-based, re-ranked in double precision)
    SEARCH_APPROXIMATE = 1, //!< inverted file over k-means cells of the bank; image scores stay exact, other
                            //!< patches may score a little high (doc/DESIGN.md, "Approximate search, exact image scores")
    SEARCH_AUTO = 2         //!< SEARCH_APPROXIMATE for banks of 8,192 rows or more outside INPUT_CENTER_CROP, else exact
};

/** @brief How an image becomes the backbone's input. */
enum InputMode
{
    INPUT_CENTER_CROP = 0, //!< shorter side to resizeSize, centre crop cropSize (the reference; the border is not seen)
    INPUT_RESIZE = 1,      //!< the whole frame resized to cropSize x cropSize (aspect ratio not kept)
    INPUT_ASPECT = 2,      //!< the whole frame, shorter side to cropSize, aspect ratio kept (feature grid follows it)
    INPUT_TILES = 3,       //!< overlapping cropSize tiles of the image scaled by tileScale; one bank, maps stitched
    //! the default: train() picks a whole-frame mode from the training images' median shorter side S. When S is
    //! more than 2 x resizeSize (512 px by default), INPUT_FRAME with tileScale = 2 x resizeSize / S, so that fine
    //! texture and small defects survive (INPUT_TILES at that scale when one pass over the largest training image
    //! would exceed maxImageMB); otherwise INPUT_ASPECT. The choice is stored: getParams() reports it after
    //! training, and saved files hold it (doc/RESULTS.md, "Whole-frame inspection", has the measurements behind it).
    INPUT_AUTO = 4,
    //! the whole image scaled by tileScale (each side rounded to a multiple of 16, the shorter one at least
    //! cropSize) in one backbone pass: what INPUT_TILES sees, without recomputing the tiles' overlap
    INPUT_FRAME = 5
};

/** @brief What runs the backbone network (Detector::setBackboneEngine). A run-time choice, not saved with a
detector: features agree to about 1e-5 between the fp32 engines; bf16 is an approximation (doc/PERFORMANCE.md). */
enum BackboneEngine
{
    ENGINE_AUTO = 0,        //!< oneDNN fp32 when the library was built with oneDNN, Params::backend / target are
                            //!< cv::dnn's OpenCV CPU defaults and oneDNN supports every operator the taps need;
                            //!< otherwise cv::dnn
    ENGINE_OPENCV = 1,      //!< cv::dnn with Params::backend and Params::target
    ENGINE_ONEDNN_FP32 = 2, //!< oneDNN in fp32; an error if the build lacks oneDNN or the model uses an operator it
                            //!< does not run (the message names it)
    ENGINE_ONEDNN_BF16 = 3  //!< oneDNN in bf16 (taps returned as fp32) on CPUs with AVX512_BF16 or AMX; an error
                            //!< on other CPUs (speed and accuracy: doc/PERFORMANCE.md)
};

/** @brief Coordinate frame of an anomaly map. */
enum MapFrame
{
    FRAME_IMAGE = 0,  //!< the input image's own size and coordinates
    FRAME_WORKING = 1 //!< the pre-processed image the backbone saw (e.g. the 224 x 224 centre crop of the resized image)
};

/** @brief Every setting of a Detector. Defaults are the authors' implementation's settings; to select its very coreset,
set coresetRandom to RANDOM_REFERENCE as well (doc/PARITY.md).

Model settings define the detector: they are saved with it and checked when it is loaded. Run settings (marked
"run setting" below: backend, target, coresetDevice, searchDevice, batchSize, memoryBudgetMB, maxImageMB) say how one
process runs it: they are never saved, a loaded detector starts with their defaults, and Detector::setRunSettings()
changes them at any time.
*/
struct CV_EXPORTS_W_SIMPLE Params
{
    /** @brief Sets every field to its documented default. */
    CV_WRAP Params();

    /** @brief Path to the ONNX backbone (e.g. resnet50v2_to_layer3.onnx). Required. */
    CV_PROP_RW String modelPath;
    /** @brief Names of the backbone outputs to tap, shallowest first; the first sets the feature grid.
    Default: layer2, layer3 (raw stage outputs). */
    CV_PROP_RW std::vector<String> layers;
    /** @brief Shorter image side after resizing (default 256). */
    CV_PROP_RW int resizeSize;
    /** @brief Side of the square centre crop fed to the backbone (default 224). */
    CV_PROP_RW int cropSize;
    /** @brief Resampling used by pre-processing, a ResizeMethod (default RESIZE_PIL_BILINEAR). */
    CV_PROP_RW int resizeMethod;
    /** @brief Per-channel mean subtracted after scaling to [0,1], in RGB order (default ImageNet's). */
    CV_PROP_RW Scalar mean;
    /** @brief Per-channel standard deviation, in RGB order (default ImageNet's). */
    CV_PROP_RW Scalar stdev;
    /** @brief Neighbourhood side p of locally aware patch features (odd, default 3). */
    CV_PROP_RW int patchSize;
    /** @brief Dimension each tap's neighbourhood vector is pooled to (default 1024). */
    CV_PROP_RW int pretrainEmbedDim;
    /** @brief Dimension of the final patch vector (default 1024). */
    CV_PROP_RW int targetEmbedDim;
    /** @brief Memory-bank subsampling, a CoresetMethod (default CORESET_GREEDY). */
    CV_PROP_RW int coresetMethod;
    /** @brief Fraction of training patch vectors kept by the coreset, in (0, 1] (default 0.1). */
    CV_PROP_RW double coresetRatio;
    /** @brief Dimension of the random projection used by greedy selection (default 128; 0 = no projection). */
    CV_PROP_RW int projectionDim;
    /** @brief Number of random start points of greedy selection (default 10). */
    CV_PROP_RW int numStarts;
    /** @brief Number of nearest bank vectors averaged into a patch score (default 1). */
    CV_PROP_RW int k;
    /** @brief Patch distance, a DistanceMetric (default DISTANCE_L2_SQUARED). */
    CV_PROP_RW int metric;
    /** @brief Apply the paper's Eq. 7 reweighting of the image score (default false). */
    CV_PROP_RW bool reweight;
    /** @brief Size b of the bank neighbourhood used by Eq. 7 (default 9). */
    CV_PROP_RW int reweightNeighbours;
    /** @brief Standard deviation of the Gaussian that smooths the anomaly map, in crop pixels (default 4). */
    CV_PROP_RW double sigma;
    /** @brief Seed of every random choice (projection, start points, random coreset); results are deterministic. */
    CV_PROP_RW int seed;
    /** @brief Generator of the greedy coreset's projection and start points, a CoresetRandom (default RANDOM_OPENCV).
    Random coresets and calibration hold-outs always use cv::RNG. */
    CV_PROP_RW int coresetRandom;
    /** @brief RANDOM_REFERENCE: 32-bit draws taken from torch's generator before the projection, >= 0 (default 0;
    doc/PARITY.md has the reference runs' value). */
    CV_PROP_RW int referenceDrawsBefore;
    /** @brief Run setting: images pre-processed and embedded together, in [1, 1024] (default 4); results do not
    depend on it. */
    CV_PROP_RW int batchSize;
    /** @brief Run setting: cv::dnn backend id for the backbone (default cv::dnn::DNN_BACKEND_OPENCV). */
    CV_PROP_RW int backend;
    /** @brief Run setting: cv::dnn target id for the backbone (default cv::dnn::DNN_TARGET_CPU). */
    CV_PROP_RW int target;
    /** @brief Store the ONNX bytes inside saved files so that they load without the model file (default true). */
    CV_PROP_RW bool embedModel;
    /** @brief How images become backbone input, an InputMode (default INPUT_AUTO: a whole-frame mode chosen from the
    training images; INPUT_CENTER_CROP reproduces the reference). */
    CV_PROP_RW int inputMode;
    /** @brief INPUT_TILES and INPUT_FRAME: image scale before the backbone (default 1 = native resolution; INPUT_AUTO
    sets its own). */
    CV_PROP_RW double tileScale;
    /** @brief INPUT_TILES: overlap of neighbouring tiles as a fraction of cropSize, in [0, 0.9] (default 0.25). */
    CV_PROP_RW double tileOverlap;
    /** @brief Run setting: device of the greedy coreset selection, a ComputeDevice (default DEVICE_AUTO). */
    CV_PROP_RW int coresetDevice;
    /** @brief Run setting: device of the nearest-neighbour search, a ComputeDevice (default DEVICE_AUTO). */
    CV_PROP_RW int searchDevice;
    /** @brief Nearest-neighbour search, a SearchMethod (default SEARCH_AUTO). */
    CV_PROP_RW int searchMethod;
    /** @brief Round the memory bank to 16-bit floats, kept in 32-bit form (default false; doc/PERFORMANCE.md,
    "fp16 bank", has what it changes). */
    CV_PROP_RW bool bankFp16;
    /** @brief Fraction of the training images held out to calibrate decision thresholds (default 0: none). The
    held-out images are not added to the memory bank; see Detector::calibrate(). */
    CV_PROP_RW double calibrationFraction;
    /** @brief Target fraction of good images flagged anomalous when thresholds are calibrated (default 0.01). */
    CV_PROP_RW double imageFalseAlarmRate;
    /** @brief Target fraction of good pixels flagged anomalous when thresholds are calibrated (default 0.001). */
    CV_PROP_RW double pixelFalseAlarmRate;
    /** @brief Run setting: MiB training's patch vectors may take before they spill to a temporary file, >= 0
    (default 2048; 0 = no bound; doc/ROBUSTNESS.md). */
    CV_PROP_RW double memoryBudgetMB;
    /** @brief Run setting: MiB one image may take in any operation, checked before any work, >= 0 (default 2048;
    0 = what this process may use; doc/ROBUSTNESS.md). */
    CV_PROP_RW double maxImageMB;
    /** @brief Cap on the bank: min(coresetRatio x N, this) vectors, >= -1 (default -1: none in INPUT_CENTER_CROP,
    16,384 in the whole-frame modes; 0 = none; doc/RESULTS.md, "Bounded bank"). */
    CV_PROP_RW int coresetMaxSize;
    /** @brief Composable greedy: select within chunks of about this many training vectors, then over their union,
    >= -1 (default -1: one selection in INPUT_CENTER_CROP; in the whole-frame modes chunks of 65,536 where they
    cost less than one selection; 0 = one exact selection; doc/DESIGN.md). */
    CV_PROP_RW int coresetChunkRows;
    /** @brief Coverage stop: greedy stops once doubling the bank shrinks its coverage radius by less than this
    fraction, in [0, 1) (default 0 = off; doc/RESULTS.md, "Coverage stop"). */
    CV_PROP_RW double coresetCoverageStop;

    /** @brief Writes the model's fields (not the run settings) under the current node of @p fs. */
    void write(FileStorage& fs) const;
    /** @brief Reads fields from @p node; missing fields keep their defaults, invalid values throw. */
    void read(const FileNode& node);
    /** @brief Throws cv::Exception naming the first invalid field. */
    void validate() const;
};

/** @brief What a long operation reports through the progress callback. */
struct CV_EXPORTS Progress
{
    String stage; //!< "backbone", "coreset", "search", ...
    int done;     //!< units of work finished in this stage
    int total;    //!< units of work in this stage
    String message; //!< a human-readable line, e.g. which backend runs the backbone
};

/** @brief Progress callback. Return false to cancel: the operation then throws cv::Exception (code Error::StsError, message containing "cancelled")
and leaves the detector as it was. Called from the thread that runs the operation. */
typedef std::function<bool(const Progress&)> ProgressCallback;

/** @brief What a Detector and an Ensemble have in common: trained on good images, they score an image, decide with
calibrated thresholds, and save to one file that Inspector::load() reads back whichever it holds. */
class CV_EXPORTS_W Inspector : public Algorithm
{
public:
    /** @brief Loads what Detector::save() or Ensemble::save() wrote, as the right kind. */
    CV_WRAP static Ptr<Inspector> load(const String& filename);
    /** @brief Trains on images of good parts, replacing any previous training. */
    CV_WRAP virtual void train(InputArrayOfArrays images) = 0;
    /** @brief Scores one image; @p anomalyMap (optional) receives its CV_32F map in the image's own size. */
    CV_WRAP virtual double predict(InputArray image, OutputArray anomalyMap = noArray()) const = 0;
    /** @brief Sets the decision thresholds from good images not used in training. */
    CV_WRAP virtual void calibrate(InputArrayOfArrays goodImages, double imageFalseAlarmRate = 0.01,
                                   double pixelFalseAlarmRate = 0.001) = 0;
    /** @brief Image-score threshold (NaN until calibrated or set). */
    CV_WRAP virtual double getImageThreshold() const = 0;
    /** @brief Anomaly-map threshold of detect()'s mask (NaN until calibrated or set). */
    CV_WRAP virtual double getPixelThreshold() const = 0;
    /** @brief Sets both thresholds by hand. */
    CV_WRAP virtual void setThresholds(double imageThreshold, double pixelThreshold) = 0;
    /** @brief Decides: true when the score exceeds the image threshold; @p defectMask (CV_8U, 255 = defect) marks the
    pixels above the pixel threshold. Throws without thresholds. */
    CV_WRAP virtual bool detect(InputArray image, CV_OUT double& score, OutputArray defectMask = noArray()) const = 0;
    /** @brief Saves atomically to one file. */
    CV_WRAP virtual void save(const String& filename) const CV_OVERRIDE = 0;
    /** @brief True before training. */
    CV_WRAP virtual bool empty() const CV_OVERRIDE = 0;
    /** @brief Forgets the training; the settings stay. */
    CV_WRAP virtual void clear() CV_OVERRIDE = 0;
};

/** @brief PatchCore anomaly detector.

@code
cv::patchcore::Params p;
p.modelPath = "resnet50v2_to_layer3.onnx";
auto det = cv::patchcore::Detector::create(p);
det->train(goodImages);
cv::Mat map;
double score = det->predict(image, map);
det->save("part.pcb");
auto again = cv::patchcore::Detector::load("part.pcb");
@endcode

Threading: every const method (predict, predictMap, predictBatch, computePatchScores, computeEmbedding,
toWorkingFrame, save, the getters) may be called from any number of threads at once on one trained detector, and
gives bit-for-bit the result of the same call made alone (tested with 8 threads and mixed image sizes). The
backbone network is shared: on cv::dnn (ENGINE_OPENCV) its runs are serialised by an internal lock while
pre-processing, patch embedding and nearest-neighbour search of different calls overlap (for more throughput, load
one detector per thread); the oneDNN engines run concurrent calls in parallel. Non-const methods (train, update,
calibrate, setThresholds, setMaxImageMB, setRunSettings, setBackboneEngine, read, clear, setProgressCallback) must not
overlap with any other call on the same object. The progress callback is called from the thread that runs the
operation, so a callback shared by concurrent predictBatch() calls must be thread-safe itself. Separate detectors are independent.
*/
class CV_EXPORTS_W Detector : public Inspector
{
public:
    /** @brief Creates an untrained detector. Throws if @p params is invalid or the backbone cannot be loaded. */
    CV_WRAP static Ptr<Detector> create(const Params& params = Params());

    /** @brief Loads a detector saved by save(): binary (".pcb") or FileStorage (".yml", ".yml.gz", ".xml", ".json").
    The backbone comes from the embedded ONNX bytes when present, otherwise from the saved path, whose SHA-256 must
    match the one recorded at training time. @p modelPath, when given, is used instead of the saved path (for a file
    without an embedded model that has moved to another machine); its SHA-256 is checked all the same. */
    CV_WRAP static Ptr<Detector> load(const String& filename, const String& modelPath = String());

    /** @brief Builds the memory bank from images of good parts, replacing any previous training.
    @param images vector of images (any size; 8U, 16U or 32F; 1, 3 or 4 channels in OpenCV's BGR(A) order). */
    CV_WRAP virtual void train(InputArrayOfArrays images) CV_OVERRIDE = 0;

    /** @brief Builds the memory bank from image files, decoding them a batch at a time instead of holding every image
    in memory: the way to train on thousands of images under Params::memoryBudgetMB. Gives the same detector as
    train() on the decoded images (cv::imread with IMREAD_UNCHANGED). An unreadable file is an error naming it, and
    the detector is left as it was. Needs OpenCV's imgcodecs module.
    @param files paths of the training images. */
    CV_WRAP virtual void trainFiles(const std::vector<String>& files) = 0;

    /** @brief Scores one image.
    @param image image as accepted by train().
    @param anomalyMap optional CV_32F map of patch distances in @p image's own size; pixels outside the part of the
    image that the backbone saw (the centre crop) hold 0.
    @return image anomaly score (largest patch score, Eq. 7-reweighted when enabled). */
    CV_WRAP virtual double predict(InputArray image, OutputArray anomalyMap = noArray()) const CV_OVERRIDE = 0;

    /** @brief Scores one image and returns its map in the chosen frame, a MapFrame. FRAME_WORKING is the frame the
    authors' evaluation uses (maps and masks after the same resize and crop); FRAME_IMAGE is what predict() returns. */
    CV_WRAP virtual double predictMap(InputArray image, OutputArray anomalyMap, int frame) const = 0;

    /** @brief Applies the detector's geometric pre-processing (resize, crop) to a single-channel image such as a
    ground-truth mask, giving a CV_32F image in FRAME_WORKING scaled to [0, 1] (8U / 255, 16U / 65535, float as is).
    A mask pixel counts as anomalous where the result is > 0.5, as in the reference evaluation. */
    CV_WRAP virtual void toWorkingFrame(InputArray image, OutputArray out) const = 0;

    /** @brief Scores many images, batching the backbone. Maps are returned only if @p anomalyMaps is not noArray(). */
    CV_WRAP virtual void predictBatch(InputArrayOfArrays images, CV_OUT std::vector<double>& scores,
                                      OutputArrayOfArrays anomalyMaps = noArray()) const = 0;

    /** @brief Patch scores of one image on the feature grid (e.g. 28 x 28 at crop 224), CV_32F. */
    CV_WRAP virtual void computePatchScores(InputArray image, OutputArray patchScores) const = 0;

    /** @brief Patch vectors of one image, one row per grid position (row = y * gridWidth + x), CV_32F. */
    CV_WRAP virtual void computeEmbedding(InputArray image, OutputArray embedding) const = 0;

    /** @brief Adds good images to a trained detector without starting over. Their patch vectors are subsampled with
    the same method and ratio, greedy selection continuing from the current bank (existing vectors count as already
    selected), so the bank grows by about coresetRatio x the new vectors and nothing already in it is removed. */
    CV_WRAP virtual void update(InputArrayOfArrays images) = 0;

    /** @brief Chooses decision thresholds from good images only (not in the bank): the image threshold is the
    (1 - imageFalseAlarmRate) quantile of their image scores, the pixel threshold the (1 - pixelFalseAlarmRate)
    quantile of their anomaly-map pixels (working frame). With few images the quantile is their largest score: the
    achieved false-alarm rate on new good images is then about 1 / (count + 1). With a care mask only care pixels
    count, and every label of the mask also gets its own pixel threshold (the quantile at its
    setLabelFalseAlarmRate() target, else at @p pixelFalseAlarmRate, of that label's pixels). */
    CV_WRAP virtual void calibrate(InputArrayOfArrays goodImages, double imageFalseAlarmRate = 0.01,
                                   double pixelFalseAlarmRate = 0.001) CV_OVERRIDE = 0;
    /** @brief Image-score threshold (NaN until calibrated or set). */
    CV_WRAP virtual double getImageThreshold() const CV_OVERRIDE = 0;
    /** @brief Anomaly-map threshold for defect masks (NaN until calibrated or set). */
    CV_WRAP virtual double getPixelThreshold() const CV_OVERRIDE = 0;
    /** @brief Sets both thresholds by hand (e.g. from a line's own statistics); per-label pixel thresholds are
    cleared (set them with setLabelThreshold()). */
    CV_WRAP virtual void setThresholds(double imageThreshold, double pixelThreshold) CV_OVERRIDE = 0;
    /** @brief Sets Params::maxImageMB for this detector, also after load(): how much memory one image may take is
    a property of the machine that runs the detector, not of the model. */
    CV_WRAP virtual void setMaxImageMB(double maxImageMB) = 0;
    /** @brief Decides: true when the image score exceeds the image threshold. @p score receives the score,
    @p defectMask (CV_8U, image size, 255 = defect) the pixels whose map value exceeds the pixel threshold (of
    their care-mask label). With DecisionRule::regionsDecide the decision is detectRegions()'s. Throws if the
    detector has no thresholds. */
    CV_WRAP virtual bool detect(InputArray image, CV_OUT double& score, OutputArray defectMask = noArray()) const CV_OVERRIDE = 0;

    /** @brief Restricts inspection to the care area of @p mask, a single-channel 8-bit image in the input image's
    frame: 0 = don't care, any other value = the label of a care region (0/255 for one region; 1, 2, ... for regions
    with their own pixel thresholds, see setLabelFalseAlarmRate()). Patches whose centre falls where the mask is 0
    are not added to the memory bank by train(), update() and trainFiles(), never score, and the anomaly map is 0
    there; the smoothing of the map uses care patches only. The mask follows the detector's geometry (crop, aspect,
    tiles) and is saved with it. With @p scaleToImage false (default) every image must have the mask's size; with
    true the mask is scaled (nearest neighbour) to each image, i.e. it marks the same fraction of any frame. Set it
    before train(); setting it on a trained detector changes scoring only (calibrate again). Throws for an empty,
    multi-channel, non-8-bit or all-zero mask. */
    CV_WRAP virtual void setCareMask(InputArray mask, bool scaleToImage = false) = 0;
    /** @brief Removes the care mask and the per-label thresholds and false-alarm targets. */
    CV_WRAP virtual void clearCareMask() = 0;
    /** @brief The care mask (empty when none is set). */
    CV_WRAP virtual Mat getCareMask() const = 0;
    /** @brief Whether the care mask is scaled to each image (setCareMask()'s @p scaleToImage). */
    CV_WRAP virtual bool getCareMaskScales() const = 0;
    /** @brief Pixel false-alarm target of one care-mask label, used by calibrate() for that label's own pixel
    threshold instead of its @p pixelFalseAlarmRate. @p label in 1..255; @p rate in (0, 1). */
    CV_WRAP virtual void setLabelFalseAlarmRate(int label, double rate) = 0;
    /** @brief Pixel threshold of the care region @p label (1..255): what calibrate() or setLabelThreshold() set for
    it, otherwise getPixelThreshold(). */
    CV_WRAP virtual double getLabelThreshold(int label) const = 0;
    /** @brief Sets the pixel threshold of one care-mask label by hand. */
    CV_WRAP virtual void setLabelThreshold(int label, double threshold) = 0;
    /** @brief Sets how decisions and regions are made (saved with the detector). */
    CV_WRAP virtual void setDecisionRule(const DecisionRule& rule) = 0;
    /** @brief The decision rule (defaults: see DecisionRule). */
    CV_WRAP virtual DecisionRule getDecisionRule() const = 0;
    /** @brief predict() with the don't-care areas of this one frame: @p careMask (8-bit, single channel, the image's
    size; 0 = don't care) is combined with the detector's care mask. */
    CV_WRAP virtual double predictMasked(InputArray image, InputArray careMask, OutputArray anomalyMap = noArray()) const = 0;
    /** @brief Decides and lists the defect regions of one image: the connected components of the map pixels above
    their label's pixel threshold, of at least DecisionRule::minRegionArea pixels, the highest peak first, at most
    DecisionRule::maxRegions. Returns true (reject) when the score exceeds the image threshold or, with
    DecisionRule::regionsDecide, when any region is listed. @p careMask: as in predictMasked() (optional).
    @p anomalyMap receives the map (image frame). Throws if the detector has no thresholds. */
    CV_WRAP virtual bool detectRegions(InputArray image, CV_OUT std::vector<Region>& regions, CV_OUT double& score,
                                       InputArray careMask = noArray(), OutputArray anomalyMap = noArray()) const = 0;

    /** @brief Saves to @p filename: ".pcb" gives the compact binary format, anything else FileStorage (YAML/XML/JSON,
    optionally ".gz"). The file is written completely to a temporary name first and then renamed. */
    CV_WRAP virtual void save(const String& filename) const CV_OVERRIDE = 0;

    /** @brief The parameters the detector was created with. */
    virtual Params getParams() const = 0;
    /** @brief Number of vectors in the memory bank (0 before training). */
    CV_WRAP virtual int getMemoryBankSize() const = 0;
    /** @brief A copy of the memory bank, one CV_32F row per vector. */
    CV_WRAP virtual Mat getMemoryBank() const = 0;
    /** @brief Size of the feature grid (patch-score map) for the configured crop. Requires a trained detector. */
    CV_WRAP virtual Size getFeatureGridSize() const = 0;
    /** @brief Sets the progress callback (an empty function removes it). */
    virtual void setProgressCallback(const ProgressCallback& callback) = 0;
    /** @brief Chooses what runs the backbone, a BackboneEngine (default ENGINE_AUTO), and rebuilds it; the memory
    bank and thresholds stay. Not saved with the detector. Throws, leaving the detector as it was, when the engine
    cannot run this model. Like the other non-const methods it must not overlap with any other call on the object. */
    CV_WRAP virtual void setBackboneEngine(int engine) = 0;
    /** @brief Sets how this process runs the detector from the run settings of @p run: backend, target,
    coresetDevice, searchDevice, batchSize, memoryBudgetMB and maxImageMB (its other fields are ignored). Run
    settings are never saved: a loaded detector starts with their defaults, and read() keeps the detector's own.
    Rebuilds the backbone or the search index when their backend or device changes; throws, leaving the detector as
    it was, when a setting is invalid or a device is unavailable. */
    CV_WRAP virtual void setRunSettings(const Params& run) = 0;
    /** @brief What runs the backbone now, in words (e.g. "oneDNN 2.6.3 fp32, 57 fused primitives"). */
    CV_WRAP virtual String getBackboneEngine() const = 0;

    /** @brief True before training. */
    CV_WRAP virtual bool empty() const CV_OVERRIDE = 0;
    /** @brief Forgets the memory bank; the parameters and the backbone stay. */
    CV_WRAP virtual void clear() CV_OVERRIDE = 0;
    /** @brief Writes parameters, backbone reference and memory bank into an open FileStorage. */
    virtual void write(FileStorage& fs) const CV_OVERRIDE = 0;
    /** @brief Reads what write() wrote, replacing the current state (validated before anything changes). */
    CV_WRAP virtual void read(const FileNode& node) CV_OVERRIDE = 0;
    /** @brief "PatchCore.Detector". */
    CV_WRAP virtual String getDefaultName() const CV_OVERRIDE;
};

//! @}

} // namespace patchcore
} // namespace cv

#endif // OPENCV_PATCHCORE_HPP
