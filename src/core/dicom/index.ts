// Public API of the DICOM series reader: a CT series → the NIfTI reader's volume shape (header + HU voxels).
export { DicomError, isDicomError, type DicomErrorCode } from './errors';
export { parseDicomImage, hasDicmPrefix, type DicomImage } from './parse';
export { groupSeries, seriesGeometry, type DicomSeries, type SeriesGeometry, type SeriesSummary } from './series';
export { decodeDicomFiles, decodeDicomSeries, pickSeries, readDicomFiles, unreadableNotice, type DicomDecodeOptions, type DicomFile, type DicomReadResult, type DicomVolume } from './decode';
export { transferSyntax, decodableSyntaxes, type TransferSyntax } from './transfer-syntax';
export { mayBeDicom, readDicomFolder, seriesOfFile, type FolderReader, type ReadFolderOptions } from './folder';
