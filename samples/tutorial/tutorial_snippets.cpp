// The code of doc/tutorial.md: every snippet there is cut from this file (doxygen \snippet), which is compiled with
// the samples, so the tutorial cannot drift from the API. Run it as
//   patchcore_tutorial <backbone.onnx> <folder of good images> <image to inspect> <output folder>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/patchcore.hpp>
#include <opencv2/patchcore/ensemble.hpp>
#include <opencv2/patchcore/metrics.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace {

std::vector<cv::Mat> readFolder(const std::string& folder)
{
    //! [read images]
    std::vector<cv::String> files;
    cv::glob(folder + "/*.png", files);
    std::vector<cv::String> jpgs;
    cv::glob(folder + "/*.jpg", jpgs);
    files.insert(files.end(), jpgs.begin(), jpgs.end());
    std::vector<cv::Mat> images;
    for (const cv::String& f : files)
        images.push_back(cv::imread(f, cv::IMREAD_UNCHANGED)); // 8U or 16U, grey, BGR or BGRA: all accepted
    //! [read images]
    return images;
}

cv::Ptr<cv::patchcore::Detector> trainDetector(const std::string& model, const std::vector<cv::Mat>& good)
{
    //! [train]
    cv::patchcore::Params params;                 // defaults reproduce the authors' implementation
    params.modelPath = model;                     // an ONNX CNN whose tapped layers are graph outputs
    params.layers = {"layer2", "layer3"};         // output names, shallowest first
    auto detector = cv::patchcore::Detector::create(params);
    detector->setProgressCallback([](const cv::patchcore::Progress& p) {
        std::cerr << "\r" << p.stage << " " << p.done << "/" << p.total << std::flush;
        return true; // false would cancel training
    });
    detector->train(good);
    //! [train]
    std::cerr << "\n";
    return detector;
}

void predictAndShow(const cv::patchcore::Detector& detector, const cv::Mat& image, const std::string& outDir)
{
    //! [predict]
    cv::Mat anomalyMap;                                     // CV_32F, same size as the image
    const double score = detector.predict(image, anomalyMap);
    cv::Mat heat, overlayImage;
    anomalyMap.convertTo(heat, CV_8U, 255.0 / std::max(score, 1e-12));
    cv::applyColorMap(heat, heat, cv::COLORMAP_JET);
    cv::addWeighted(image, 0.5, heat, 0.5, 0.0, overlayImage); // image: 8-bit BGR here
    cv::imwrite(outDir + "/overlay.png", overlayImage);
    //! [predict]
    std::cout << "score " << score << "\n";
}

void saveAndLoad(const cv::patchcore::Detector& detector, const cv::Mat& image, const std::string& outDir)
{
    //! [save]
    detector.save(outDir + "/part.pcb");     // binary, embeds the ONNX model: the only file to deploy
    detector.save(outDir + "/part.yml.gz");  // readable; refers to the model by path and SHA-256
    //! [save]
    //! [load]
    auto deployed = cv::patchcore::Detector::load(outDir + "/part.pcb");
    // A .yml.gz file whose model moved: give the new path (its SHA-256 is still checked).
    auto moved = cv::patchcore::Detector::load(outDir + "/part.yml.gz", detector.getParams().modelPath);
    //! [load]
    std::cout << "loaded detectors agree: " << (deployed->predict(image) == moved->predict(image)) << "\n";
}

cv::patchcore::Params wholeFrameParams(const std::string& model)
{
    //! [whole frame]
    cv::patchcore::Params params;
    params.modelPath = model;
    params.inputMode = cv::patchcore::INPUT_TILES; // the whole frame at native resolution, no centre crop
    params.cropSize = 224;                         // tile side
    params.tileScale = 0.5;                        // halve the frame first: 4x fewer tiles
    params.tileOverlap = 0.25;                     // neighbouring tiles share a quarter; maps are feathered
    //! [whole frame]
    return params;
}

void decide(const std::string& model, const std::vector<cv::Mat>& good, const cv::Mat& image, const std::string& outDir)
{
    //! [calibrate]
    cv::patchcore::Params params;
    params.modelPath = model;
    params.calibrationFraction = 0.2;  // 20 % of the good images are held out of the bank ...
    params.imageFalseAlarmRate = 0.01; // ... and set the thresholds for 1 % false alarms on good parts
    auto detector = cv::patchcore::Detector::create(params);
    detector->train(good);             // thresholds are calibrated and saved with the detector

    double score = 0;
    cv::Mat defectMask;                // CV_8U, image size, 255 where the map exceeds the pixel threshold
    const bool defective = detector->detect(image, score, defectMask);
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(defectMask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    //! [calibrate]
    std::cout << (defective ? "defective" : "good") << " (score " << score << ", " << contours.size()
              << " regions, threshold " << detector->getImageThreshold() << ")\n";
    detector->save(outDir + "/calibrated.pcb");
}

void inspectWithCareMask(const std::string& model, const std::vector<cv::Mat>& good, const cv::Mat& image)
{
    //! [care mask]
    // 0 = don't care (a conveyor edge, a printed label, a screw hole that varies by design); any other value is the
    // label of a care region. Here the left tenth is ignored, and the right half is region 2, inspected more strictly.
    cv::Mat care(good[0].size(), CV_8U, cv::Scalar(1));
    care.colRange(0, care.cols / 10).setTo(0);
    care.colRange(care.cols / 2, care.cols).setTo(2);

    cv::patchcore::Params params;
    params.modelPath = model;
    params.calibrationFraction = 0.2;            // thresholds from held-out good images, as in section 6
    auto detector = cv::patchcore::Detector::create(params);
    detector->setCareMask(care, true);           // true: scaled to every image's size (else: images of its size)
    detector->setLabelFalseAlarmRate(2, 1e-4);   // region 2's own pixel threshold, at 0.01 % false alarms
    cv::patchcore::DecisionRule rule;
    rule.minRegionArea = 20;                     // specks under 20 px are not defects
    rule.maxRegions = 10;                        // list the 10 highest peaks at most
    rule.regionsDecide = true;                   // reject on any such region, not on the image score alone
    detector->setDecisionRule(rule);
    detector->train(good);                       // don't-care patches never enter the bank; saved with the mask
    //! [care mask]

    //! [regions]
    std::vector<cv::patchcore::Region> regions;  // highest peak first
    double score = 0;
    const bool reject = detector->detectRegions(image, regions, score);
    for (const cv::patchcore::Region& r : regions)
        std::cout << "region (label " << r.label << "): " << r.area << " px in " << r.box << ", centroid "
                  << r.centroid << ", peak " << r.peakScore << ", mean " << r.meanScore << "\n";
    // The don't-care areas of this one frame (say, a part of the fixture in view), on top of the detector's mask:
    cv::Mat frameCare(image.size(), CV_8U, cv::Scalar(255));
    frameCare.rowRange(0, image.rows / 8).setTo(0);
    detector->detectRegions(image, regions, score, frameCare);
    //! [regions]
    std::cout << (reject ? "rejected" : "accepted") << ", " << regions.size() << " regions outside the top eighth; "
              << "pixel thresholds: region 1 " << detector->getLabelThreshold(1) << ", region 2 "
              << detector->getLabelThreshold(2) << "\n";
}

void ensemble(const std::string& model, const std::vector<cv::Mat>& good, const cv::Mat& image)
{
    //! [ensemble]
    auto ens = cv::patchcore::Ensemble::create(0.2); // 20 % of the good images normalise the members
    cv::patchcore::Params a;
    a.modelPath = model;
    cv::patchcore::Params b = a;
    b.layers = {"layer3"};   // in practice: another backbone (tools/export_backbone.py)
    ens->addMember(a);
    ens->addMember(b);
    ens->train(good);
    const double score = ens->predict(image); // mean of the members' normalised scores
    cv::Mat defects;
    double checked = 0;
    const bool reject = ens->detect(image, checked, defects); // thresholds from the held-out images
    //! [ensemble]
    std::cout << "ensemble score " << score << (reject ? ", rejected" : ", accepted") << "\n";
}

void evaluate(const std::vector<double>& scores, const std::vector<int>& labels)
{
    //! [metrics]
    const double auroc = cv::patchcore::imageAUROC(scores, labels); // labels: 0 good, 1 defective
    const cv::patchcore::F1Threshold best = cv::patchcore::bestF1Threshold(scores, labels);
    //! [metrics]
    std::cout << "AUROC " << auroc << ", best F1 " << best.f1 << " at " << best.threshold << "\n";
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 5)
    {
        std::cerr << "usage: patchcore_tutorial <backbone.onnx with layer2, layer3> <good folder> <image> <out folder>\n";
        return 1;
    }
    try
    {
        const std::vector<cv::Mat> good = readFolder(argv[2]);
        const cv::Mat image = cv::imread(argv[3]);
        auto detector = trainDetector(argv[1], good);
        predictAndShow(*detector, image, argv[4]);
        saveAndLoad(*detector, image, argv[4]);
        cv::patchcore::Detector::create(wholeFrameParams(argv[1]))->train(good);
        decide(argv[1], good, image, argv[4]);
        inspectWithCareMask(argv[1], good, image);
        ensemble(argv[1], good, image);
        evaluate({detector->predict(good[0]), detector->predict(image)}, {0, 1});
        return 0;
    }
    catch (const cv::Exception& e)
    {
        std::cerr << "error: " << e.err << "\n";
        return 2;
    }
}
