// This file is part of the cv::patchcore module.
#ifndef OPENCV_PATCHCORE_ENSEMBLE_HPP
#define OPENCV_PATCHCORE_ENSEMBLE_HPP

#include <opencv2/patchcore.hpp>

namespace cv {
namespace patchcore {

//! @addtogroup patchcore
//! @{

/** @brief Several detectors (different backbones or parameters) whose normalised scores are averaged, as in the
paper's ensemble (Table 4).

Each member is an ordinary Detector with its own memory bank. Scores of different backbones live on different
scales, so each member's score and map are normalised before averaging. The authors min-max normalise over the test
set, which a deployed detector cannot do (it sees one image at a time). Instead, every member is normalised by
statistics of good images it has not seen:

- train() holds out a fraction of the good images (at least one), trains each member on the rest, and scores the
  held-out images with it. The member's normalisation is the mean and standard deviation of
  all their anomaly-map pixels (working frame): thousands of values even for one image, so the statistics are stable
  where a handful of image scores would not be.
- The held-out images are then added to each member's bank with Detector::update(), so no training image is wasted.
- A member's normalised score is (score - mean) / stdev, and likewise every pixel of its map: "how many standard
  deviations of a good pixel above a typical good pixel". The ensemble's score and map are the means over members.

Decisions: train() also calibrates an image and a pixel threshold on the ensemble's scores of the held-out images
(scored by the members before those images join their banks), at false-alarm rates of 1 % (images) and 0.1 %
(pixels), so detect() works right after training. With few held-out images the image threshold is simply their
highest score; call calibrate() with more good images the members have not seen for a threshold the line can trust.

Rank-based metrics of a single member are unchanged by the normalisation; it only sets how members are weighted.
Members should share the input geometry (Params::inputMode, resizeSize, cropSize): the maps are averaged in the
input image's frame, where pixels a member did not see hold that member's normalised value of a 0 map.

@code
auto ens = cv::patchcore::Ensemble::create();
ens->addMember(wideResNetParams);
ens->addMember(denseNetParams);
ens->train(goodImages);
cv::Mat map;
double score = ens->predict(image, map);
ens->save("part.pce");
auto again = cv::patchcore::Ensemble::load("part.pce");
@endcode

Threading: as for Detector, const methods may run concurrently on one trained ensemble; addMember(), train() and
clear() must not overlap with any other call.
*/
class CV_EXPORTS_W Ensemble : public Inspector
{
public:
    virtual ~Ensemble();

    /** @brief Creates an empty ensemble.
    @param holdoutFraction fraction of the training images held out to normalise the members, in (0, 1); at least
    one image is held out (default 0.2). */
    CV_WRAP static Ptr<Ensemble> create(double holdoutFraction = 0.2);

    /** @brief Loads an ensemble written by save(). Members' backbones come from the file (embedded ONNX bytes) or
    from their saved paths, as for Detector::load(). */
    CV_WRAP static Ptr<Ensemble> load(const String& filename);

    /** @brief Adds an untrained member with its own parameters. Throws if @p params is invalid, the backbone cannot
    be loaded, or the ensemble is already trained (call clear() first). */
    CV_WRAP virtual void addMember(const Params& params) = 0;

    /** @brief Trains every member on the same good images and computes their normalisations (see the class
    description). Needs at least two images: one to train on and one to hold out. */
    CV_WRAP virtual void train(InputArrayOfArrays images) CV_OVERRIDE = 0;

    /** @brief Scores one image: the mean of the members' normalised scores.
    @param image image as accepted by Detector::train().
    @param anomalyMap optional CV_32F map in @p image's own size: the mean of the members' normalised maps.
    @return the ensemble's anomaly score; about 0 for a typical good pixel's level, in units of its spread. */
    CV_WRAP virtual double predict(InputArray image, OutputArray anomalyMap = noArray()) const CV_OVERRIDE = 0;

    /** @brief Scores one image and returns every member's normalised score, in member order (what predict()
    averages). */
    CV_WRAP virtual double predictMembers(InputArray image, CV_OUT std::vector<double>& memberScores) const = 0;

    /** @brief Sets the decision thresholds from good images the members have not seen: the image threshold flags a
    fraction @p imageFalseAlarmRate of their ensemble scores, the pixel threshold a fraction @p pixelFalseAlarmRate of
    the ensemble-map pixels that some member sees (the border a centre crop discards is left out). Both rates in
    (0, 1); replaces the thresholds train() calibrated. */
    CV_WRAP virtual void calibrate(InputArrayOfArrays goodImages, double imageFalseAlarmRate = 0.01,
                                   double pixelFalseAlarmRate = 0.001) CV_OVERRIDE = 0;
    /** @brief Image threshold on the ensemble score: detect() flags scores strictly above it (NaN before
    calibration). */
    CV_WRAP virtual double getImageThreshold() const CV_OVERRIDE = 0;
    /** @brief Pixel threshold on the ensemble map: detect()'s mask marks pixels strictly above it (NaN before
    calibration). */
    CV_WRAP virtual double getPixelThreshold() const CV_OVERRIDE = 0;
    /** @brief Sets both thresholds directly, in the units of predict()'s score and map (finite values). */
    CV_WRAP virtual void setThresholds(double imageThreshold, double pixelThreshold) CV_OVERRIDE = 0;
    /** @brief Scores one image and decides: returns true when the ensemble score exceeds the image threshold.
    @param image image as accepted by predict().
    @param score the ensemble score (as predict() returns it).
    @param defectMask optional CV_8U mask in @p image's size, 255 where the ensemble map exceeds the pixel
    threshold. Throws when the ensemble has no thresholds (an ensemble saved before they existed: calibrate()). */
    CV_WRAP virtual bool detect(InputArray image, CV_OUT double& score, OutputArray defectMask = noArray()) const CV_OVERRIDE = 0;

    /** @brief Saves the whole ensemble into one binary file (members embedded as their own .pcb contents, with
    their normalisations); the extension is free, ".pce" is suggested. Written atomically. */
    CV_WRAP virtual void save(const String& filename) const CV_OVERRIDE = 0;

    /** @brief Number of members. */
    CV_WRAP virtual int getMemberCount() const = 0;
    /** @brief Member @p index (shared, not copied: it must not be retrained while the ensemble is in use). */
    CV_WRAP virtual Ptr<Detector> getMember(int index) const = 0;
    /** @brief Normalisation of member @p index: @p mean and @p stdev of its held-out good maps' pixels. */
    CV_WRAP virtual void getNormalization(int index, CV_OUT double& mean, CV_OUT double& stdev) const = 0;
    /** @brief The held-out fraction given to create(). */
    CV_WRAP virtual double getHoldoutFraction() const = 0;

    /** @brief True before training (or when there are no members). */
    CV_WRAP virtual bool empty() const CV_OVERRIDE = 0;
    /** @brief Forgets every member's bank and normalisation; members and their parameters stay. */
    CV_WRAP virtual void clear() CV_OVERRIDE = 0;
    /** @brief "PatchCore.Ensemble". */
    CV_WRAP virtual String getDefaultName() const CV_OVERRIDE;
};

//! @}

} // namespace patchcore
} // namespace cv

#endif
