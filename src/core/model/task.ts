// What the model is asked to do with a volume: write a report, or answer a question about it (visual question
// answering). One type for the whole project: the prompt templates, the model host's requests, the runs the viewer
// shows and the benchmark datasets (contract C5) all spell a task this way.

export type Task = 'report' | 'vqa';
