// patchcore: train, predict with and evaluate PatchCore anomaly detectors from the command line.
#include "common.hpp"

#include <cstring>
#include <iostream>

namespace {

void usage()
{
    std::cout << "usage: patchcore <command> [options]   (patchcore <command> --help for its options)\n"
                 "  train    build a detector from a folder of good images and save it\n"
                 "  predict  score images (a file or a folder) with a saved detector, write heat maps and a CSV\n"
                 "  run      train on an MVTec-layout category, score its test split, write heat maps and scores\n"
                 "  eval     image AUROC, pixel AUROC and PRO on MVTec-layout categories, low-shot curves, reports\n";
}

} // namespace

int main(int argc, char** argv)
{
    using namespace patchcore_samples;
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))
    {
        usage();
        return argc < 2 ? 1 : 0;
    }
    const std::string command = argv[1];
    try
    {
        if (command == "train")
            return commandTrain(argc - 1, argv + 1);
        if (command == "predict")
            return commandPredict(argc - 1, argv + 1);
        if (command == "run")
            return commandRun(argc - 1, argv + 1);
        if (command == "eval")
            return commandEval(argc - 1, argv + 1);
        std::cerr << "unknown command '" << command << "'\n";
        usage();
        return 1;
    }
    catch (const cv::Exception& e)
    {
        std::cerr << "error: " << e.err << "\n";
        return 2;
    }
    catch (const std::exception& e)
    {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }
}
