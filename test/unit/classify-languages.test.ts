// The risk classifier beyond plain English: names as they render (full-width, invisible, look-alike, accented, odd
// case), European-language verbs in names and descriptions, and stems in Chinese, Japanese, Korean and Russian, with
// their negations and the readings that must stay Read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyTool } from '../../src/catalog/classify.js';
import { assertCategories } from './classify-cases.js';


test('a name is read as it renders: full-width, zero-width, look-alike letters, accents and odd case hide no verb', () => {
  assertCategories([
    [{ name: 'ＤＥＬＥＴＥ_file' }, 'Destructive'],
    [{ name: 'ｄｅｌｅｔｅ' }, 'Destructive'],
    [{ name: 'de\u200blete_file' }, 'Destructive'],
    [{ name: 'de\u00adlete_repo' }, 'Destructive'],
    [{ name: 'd\u0435lete_file' }, 'Destructive'], // Cyrillic е
    [{ name: 'DR\u041ep_table' }, 'Destructive'], // Cyrillic О
    [{ name: 'déléte_file' }, 'Destructive'],
    [{ name: 'dElEtE' }, 'Destructive'],
    [{ name: 'ｔｒａｎｓｆｅｒ_ｆｕｎｄｓ' }, 'Financial'],
    [{ name: 'ｒｅａｄ_ｆｉｌｅ' }, 'Read'],
    [{ name: 'g\u0435t_file', description: 'Reads a file.' }, 'Read'],
  ]);
  const evidence = classifyTool({ name: 'd\u0435lete_file' }).evidence;
  assert.ok(evidence.includes('name verb "delete"'), evidence.join(' | '));
});

test('a description with invisible characters inside its words is read without them', () => {
  assertCategories([
    [{ name: 'tidy', description: 'Permanently de\u200bletes every file in the folder.' }, 'Destructive'],
    [{ name: 'settle_up', description: 'Ｒｅｆｕｎｄｓ the payment to the card.' }, 'Financial'],
    [{ name: 'tidy_up', description: '\u{1D403}\u{1D41E}\u{1D425}\u{1D41E}\u{1D42D}\u{1D41E}\u{1D42C} the repository.' }, 'Destructive'], // mathematical bold
    [{ name: 'status', description: '⚠️ Shows the status of the repository.' }, 'Read'],
  ]);
});

test('verbs of Spanish, Portuguese, French, Italian, German and Dutch names and descriptions', () => {
  assertCategories([
    [{ name: 'borrar_archivo' }, 'Destructive'],
    [{ name: 'datei_loeschen' }, 'Destructive'],
    [{ name: 'dateiLöschen' }, 'Destructive'],
    [{ name: 'supprimer_utilisateur' }, 'Destructive'],
    [{ name: 'verwijderen' }, 'Destructive'],
    [{ name: 'eliminare_record' }, 'Destructive'],
    [{ name: 'pagar_factura' }, 'Financial'],
    [{ name: 'rechnung_bezahlen' }, 'Financial'],
    [{ name: 'ejecutar_comando' }, 'Execute'],
    [{ name: 'crear_cliente' }, 'Write'],
    [{ name: 'listar_facturas' }, 'Read'],
    [{ name: 'archivo', description: 'Elimina permanentemente el archivo indicado.' }, 'Destructive'],
    [{ name: 'arquivo', description: 'Exclui o arquivo.' }, 'Destructive'],
    [{ name: 'file', description: 'Rimuove il file dal disco.' }, 'Destructive'],
    [{ name: 'bestand', description: 'Verwijdert het bestand.' }, 'Destructive'],
    [{ name: 'comando', description: 'Esegue un comando nella shell.' }, 'Execute'],
    [{ name: 'factura', description: 'Betaalt de factuur.' }, 'Financial'],
    [{ name: 'abmelden', description: 'Meldet den Benutzer ab und löscht gespeicherte Zugangsdaten.' }, 'Destructive'],
    [{ name: 'liste', description: 'Führt zu einer Liste der Dateien.' }, 'Read'],
  ]);
});

test('Chinese, Japanese, Korean and Russian: stems in names and descriptions, with the evidence quoted', () => {
  assertCategories([
    [{ name: 'x', description: '删除指定的文件' }, 'Destructive'],
    [{ name: 'x', description: 'ファイルを削除します' }, 'Destructive'],
    [{ name: 'x', description: '파일을 삭제합니다' }, 'Destructive'],
    [{ name: 'x', description: 'Удаляет файл навсегда' }, 'Destructive'],
    [{ name: 'x', description: '注销当前账户并清除凭据' }, 'Destructive'],
    [{ name: 'x', description: '使用保存的卡支付订单' }, 'Financial'],
    [{ name: 'x', description: '주문을 결제합니다' }, 'Financial'],
    [{ name: 'x', description: 'Оплачивает счёт' }, 'Financial'],
    [{ name: 'x', description: '执行 shell 命令' }, 'Execute'],
    [{ name: 'x', description: 'コマンドを実行します' }, 'Execute'],
    [{ name: 'x', description: 'Выполняет команду в терминале' }, 'Execute'],
    [{ name: 'x', description: '创建新的项目' }, 'Write'],
    [{ name: 'удалить_файл' }, 'Destructive'],
    [{ name: '削除' }, 'Destructive'],
    [{ name: '获取文件' }, 'Read'],
  ]);
  assert.deepEqual(classifyTool({ name: 'x', description: '删除指定的文件。返回结果。' }).evidence, ['description: "删除指定的文件"']);
});

test('negations, readings and look-alike words in those languages stay Read', () => {
  assertCategories([
    [{ name: 'x', description: '不会删除任何文件，只读取。' }, 'Read'],
    [{ name: 'x', description: 'ファイルを削除しません。一覧を返します。' }, 'Read'],
    [{ name: 'x', description: '파일을 삭제하지 않습니다' }, 'Read'],
    [{ name: 'x', description: 'Не удаляет файлы, только читает.' }, 'Read'],
    [{ name: 'x', description: '获取支付记录' }, 'Read'], // reads payment records
    [{ name: 'x', description: 'Получает обновления' }, 'Read'], // gets updates
    [{ name: 'x', description: 'Выполняет поиск по документам' }, 'Read'], // performs a search: no code is run
    [{ name: 'x', description: 'Проверяет удалённый сервер' }, 'Read'], // "remote", not "deleted"
    [{ name: 'x', description: 'Возвращает список удаленных серверов' }, 'Read'],
  ]);
});
